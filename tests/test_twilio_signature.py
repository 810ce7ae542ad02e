"""The webhook signature and form parsing done by hand on the hot path give exactly what
Twilio's ``RequestValidator`` and ``urllib.parse.parse_qsl`` give."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from core.twilio_auth import signature_matches, twilio_signature
from core.twilio_params import fields, first_values

TOKEN = "12345678901234567890123456789012"
URL = "https://example.com/twilio/voice/survey?step=q&n=0"
# Names and values as a form can carry them: empty, repeated, unicode, separators.
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
FORM = st.lists(st.tuples(TEXT, TEXT), max_size=8)


@given(form=FORM, url=TEXT)
def test_the_signature_is_the_validators_for_any_form(
    form: list[tuple[str, str]], url: str
) -> None:
    """Any form, repeated names and values included, is signed as Twilio's validator signs it."""
    expected = RequestValidator(TOKEN).compute_signature(URL + url, MultiDict(form))
    assert twilio_signature(TOKEN, URL + url, form) == expected


def test_a_form_signed_for_another_url_or_value_does_not_match() -> None:
    """A signature holds only for the URL and the form it was made for."""
    form = [("CallSid", "CA" + "a" * 32), ("Digits", "9")]
    signature = RequestValidator(TOKEN).compute_signature(URL, MultiDict(form))
    assert signature_matches(TOKEN, URL, form, signature)
    assert not signature_matches(TOKEN, URL + "1", form, signature)
    assert not signature_matches(TOKEN, URL, [*form[:1], ("Digits", "8")], signature)
    assert not signature_matches(TOKEN, URL, form, "é" + signature[1:])


@given(form=FORM)
def test_a_url_encoded_form_parses_as_parse_qsl_parses_it(form: list[tuple[str, str]]) -> None:
    """Any encoded form reads back as parse_qsl reads it, and its first values as a MultiDict's."""
    text = urlencode(form)
    expected = parse_qsl(text, keep_blank_values=True, errors="strict")
    assert fields(text) == expected
    assert list(first_values(fields(text)).items()) == list(MultiDict(expected).items())


@pytest.mark.parametrize(
    "text", ["a", "a=", "=b", "&&a=1&", "a=1=2", "a+b=c+d", "%41=%2B1", "a=%zz", "a=%"]
)
def test_odd_query_strings_parse_as_parse_qsl_parses_them(text: str) -> None:
    """Missing '=', empty parts, '+' and stray '%' read as parse_qsl reads them."""
    assert fields(text) == parse_qsl(text, keep_blank_values=True, errors="strict")


def test_an_escape_that_is_not_utf8_is_refused_as_parse_qsl_refuses_it() -> None:
    """A %-escape that is not UTF-8 raises, so the request is left to Werkzeug."""
    with pytest.raises(UnicodeDecodeError):
        parse_qsl("a=%ff", keep_blank_values=True, errors="strict")
    with pytest.raises(UnicodeDecodeError):
        fields("a=%ff")
