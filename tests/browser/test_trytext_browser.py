"""The try-it page's text mode in a real browser: the first text, replies, the goodbye."""

from __future__ import annotations

from typing import Any

from flask import Flask

from core.models import User
from tests.browser.conftest import screenshot, sign_in
from tests.factories import demo_survey


def test_a_text_survey_taken_on_the_try_it_page(app: Flask, page: Any, boss: User) -> None:
    """Text me, then 9, 4, yes, skip, no: each text shows, and the test survey's link."""
    sign_in(page, boss)
    page.goto(f"/dashboard/surveys/{demo_survey().id}/try")
    page.click("#text-start")
    page.wait_for_selector("#text-log .bubble.ivr")
    assert "Reply with a number from 0 to 10." in page.inner_text("#text-log")
    for reply in ("9", "4", "yes", "skip", "no"):
        count = page.locator("#text-log .bubble.ivr").count()
        page.fill("#text-reply", reply)
        page.click("#text-form button[type=submit]")
        page.wait_for_function(
            f"document.querySelectorAll('#text-log .bubble.ivr').length > {count}"
        )
    assert page.inner_text("#text-log .bubble.ivr >> nth=-1") == (
        "Thank you for your feedback. Goodbye."
    )
    assert page.is_visible("#text-done")
    assert page.inner_text("#text-status") == "finished"
    screenshot(page, "20-try-it-text-mode")
