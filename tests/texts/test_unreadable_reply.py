"""A texted reply no one means as a score (a 400-digit number) is asked again."""

from __future__ import annotations

from typing import Any

from simulator.texting import TextingPhone
from tests.texts.conftest import Clock, permit, request_text_survey


def test_a_texted_400_digit_number_is_asked_again(
    client: Any, clock: Clock, phone: TextingPhone
) -> None:
    """By text the same question comes back, and a plain score then moves the survey on."""
    permit()
    request_text_survey(client)
    [again] = phone.send("9" * 400)
    assert "0 to 10" in again
    assert "How satisfied" in phone.send("9")[0]
