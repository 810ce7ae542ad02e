"""The webhook signature and form parsing done by hand on the hot path give exactly what
Twilio's ``RequestValidator`` and ``urllib.parse.parse_qsl`` give."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlparse

import pytest
from flask import Flask, request
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator, add_port, remove_port
from werkzeug.datastructures import MultiDict
from werkzeug.test import EnvironBuilder

from core.twilio_auth import (
    public_request_url,
    request_is_from_twilio,
    signature_matches,
    signed_url,
    twilio_signature,
)
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


# Raw bytes as a client can send them, in a form body or a query string: separators,
# repeated short names, '+', good, bad and cut-off %-escapes, non-ASCII and non-UTF-8
# bytes, and a very long value.
PIECES = st.sampled_from(
    [b"a", b"b", b"A", b"=", b"&", b"&&", b";", b"+", b"%", b"%2", b"%41", b"%2B", b"%26",
     b"%3D", b"%zz", b"%ff", b"%C3%A9", b"%E2%82", b"%ED%A0%80", "é".encode(), "€".encode(),
     b"\xe9", b"\xff", b"\xc3", b" ", b"x" * 5000]
)  # fmt: skip
RAW = st.lists(PIECES, max_size=12).map(b"".join)
HOSTS = st.sampled_from(["example.com", "sub.example.org", "127.0.0.1", "[::1]"])
PORTS = st.sampled_from(["", ":80", ":443", ":8080"])
SIGNED_AS = st.sampled_from(["seen", "other_port", "other_url", "other_form", "flipped"])
SURVEY = "/twilio/voice/survey"
FORM_TYPE = "application/x-www-form-urlencoded"
EXACT = settings(max_examples=300, deadline=None, database=None, derandomize=True)


def outcome(parse: Callable[[], object]) -> object:
    """The result, or the kind of error raised."""
    try:
        return parse()
    except ValueError as exc:
        return type(exc)


@EXACT
@given(raw=RAW)
def test_any_bytes_parse_as_parse_qsl_parses_them_or_are_refused_as_it_refuses_them(
    raw: bytes,
) -> None:
    """Adversarial bytes: the same pairs as parse_qsl, or the same error (left to Werkzeug)."""
    text = raw.decode("latin-1")  # as a WSGI server hands over QUERY_STRING
    assert outcome(lambda: fields(text)) == outcome(
        lambda: parse_qsl(text, keep_blank_values=True, errors="strict")
    )
    utf8 = raw.decode(errors="surrogateescape")  # bytes not UTF-8 kept as lone surrogates
    assert outcome(lambda: fields(utf8)) == outcome(
        lambda: parse_qsl(utf8, keep_blank_values=True, errors="strict")
    )


def other_port(url: str) -> str:
    """The URL with its port written out if it had none, or left out if it had one."""
    parsed = urlparse(url)
    return remove_port(parsed) if parsed.port else add_port(parsed)


def signature_for(signed_as: str, url: str, form: MultiDict[str, str]) -> str:
    """What Twilio's library computes for the request, or for one that differs from it."""
    compute = RequestValidator(TOKEN).compute_signature
    if signed_as == "other_port":
        return compute(other_port(url), form)
    if signed_as == "other_url":
        return compute(url + "&x", form)
    if signed_as == "other_form":
        return compute(url, MultiDict([*form.items(multi=True), ("Digits", "1")]))
    signature = compute(url, form)
    if signed_as == "flipped":
        return ("B" if signature[0] == "A" else "A") + signature[1:]
    return signature


@EXACT
@given(
    body=RAW,
    query=RAW,
    scheme=st.sampled_from(["http", "https"]),
    host=HOSTS,
    port=PORTS,
    public=st.booleans(),
    signed_as=SIGNED_AS,
)
def test_a_request_is_accepted_exactly_when_twilios_validator_accepts_it(
    body: bytes,
    query: bytes,
    scheme: str,
    host: str,
    port: str,
    public: bool,
    signed_as: str,
) -> None:
    """Fast lane and view accept a request only when RequestValidator.validate does, and
    the view exactly then; a signature over the URL as seen and its form passes both."""
    base = f"{scheme}://{host}{port}"
    app = Flask(__name__)
    app.config.update(TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=base if public else "")
    environ = EnvironBuilder(
        SURVEY, base_url=base, method="POST", data=body, content_type=FORM_TYPE
    ).get_environ()
    environ["QUERY_STRING"] = query.decode("latin-1")  # the bytes as sent, as WSGI gives them
    with app.request_context(environ):
        url = public_request_url()
        seen = base if public else request.host_url.rstrip("/")  # drops a default port
        assert url == signed_url(seen, SURVEY, query.decode("latin-1"))
        form = outcome(lambda: request.form)
        if not isinstance(form, MultiDict):
            return  # Werkzeug refused the body (not UTF-8): the view never reads it
        signature = signature_for(signed_as, url, form)
        request.environ["HTTP_X_TWILIO_SIGNATURE"] = signature
        library = RequestValidator(TOKEN).validate(url, form, signature)
        assert request_is_from_twilio() == library
        # The fast lane reads form and query as the view does, or leaves both to the view.
        pairs, args = (
            outcome(lambda: fields(body.decode())),
            outcome(lambda: fields(query.decode())),
        )
        if isinstance(pairs, list) and isinstance(args, list):
            assert pairs == list(form.items(multi=True))
            assert args == list(request.args.items(multi=True))
            fast = signature_matches(TOKEN, url, pairs, signature)
            assert not fast or library
            assert fast == (signed_as == "seen")
        assert library == (signed_as in ("seen", "other_port"))
