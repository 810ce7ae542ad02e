"""Twilio webhook signature validation, shared by every /twilio route."""

from __future__ import annotations

import base64
import hmac
import logging
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache, wraps
from typing import Any, TypeVar, cast

from flask import Flask, Request, Response, abort, current_app, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
WEBHOOK_PREFIX = "/twilio/"


def public_request_url() -> str:
    """The URL Twilio signed: the public base (if configured) + path + raw query string."""
    base = public_base(current_app.config, lambda: request.host_url)
    return signed_url(base, request.path, request.query_string.decode("latin-1"))


def public_base(config: Mapping[str, Any], host_url: Callable[[], str]) -> str:
    """The scheme and host Twilio signed: ``PUBLIC_BASE_URL`` when set, else the request's
    own (``host_url`` is asked only then: it may refuse an untrusted host)."""
    return str(config["PUBLIC_BASE_URL"] or host_url().rstrip("/"))


def signed_url(base: str, path: str, query: str) -> str:
    return f"{base}{path}?{query}" if query else base + path


@lru_cache(maxsize=4)
def validator(token: str) -> RequestValidator:
    return RequestValidator(token)


def request_is_from_twilio() -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    token = current_app.config["TWILIO_AUTH_TOKEN"]
    # request.form keeps repeated keys; the validator reads them all through getlist().
    params = request.form if request.method == "POST" else MultiDict()
    url = public_request_url()
    # The URL as we see it is what Twilio signed: one HMAC. Only a mismatch pays for the
    # validator's URL parsing and its with- and without-port variants.
    if signature_matches(token, url, params.items(multi=True), signature):
        return True
    return bool(validator(token).validate(url, params, signature))


def signature_matches(
    token: str, url: str, fields: Iterable[tuple[str, str]], signature: str
) -> bool:
    """Whether ``signature`` is Twilio's for exactly this URL and form (constant time).

    ``fields``: every (name, value) of the form, repeated names included.
    """
    # compare_digest raises on non-ASCII text, and a header can carry any latin-1 byte:
    # such a signature is simply not Twilio's (403, not a 500).
    return signature.isascii() and hmac.compare_digest(
        twilio_signature(token, url, fields), signature
    )


def twilio_signature(token: str, url: str, fields: Iterable[tuple[str, str]]) -> str:
    """What ``RequestValidator.compute_signature`` gives (HMAC-SHA1 of the URL, then each
    name and value, names sorted, each name's distinct values sorted), in a third of its
    time: no lookup per name, and the one-shot HMAC."""
    values: dict[str, set[str]] = {}
    for name, value in fields:
        values.setdefault(name, set()).add(value)
    signed = url + "".join(
        name + value for name in sorted(values) for value in sorted(values[name])
    )
    return base64.b64encode(hmac.digest(token.encode(), signed.encode(), "sha1")).decode()


class CookielessWebhooks(SecureCookieSessionInterface):
    """No cookie session for Twilio's webhooks: they carry no cookies and are signed
    instead, so the signing serializer is not built for them at every request."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(WEBHOOK_PREFIX):
            return self.make_null_session(app)
        return super().open_session(app, request)


def twilio_signed(view: F) -> F:
    """Reject (403) any request whose X-Twilio-Signature does not match, before any work."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        if not current_app.config["VALIDATE_TWILIO_SIGNATURE"]:
            log.warning("TWILIO SIGNATURE CHECK DISABLED: accepting %s unverified", request.path)
        elif not request_is_from_twilio():
            log.warning("rejected unsigned or forged request to %s", request.path)
            abort(403)
        return cast(Response, view(*args, **kwargs))

    return cast(F, wrapper)
