"""Twilio REST client that can be pointed at another base URL (the local fake)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

TWILIO_API_ORIGIN = "https://api.twilio.com"


class RebasedHttpClient(TwilioHttpClient):
    """Sends every request meant for api.twilio.com to ``base_url`` instead.

    Twilio's library builds absolute URLs from its domain objects; rewriting at the
    HTTP layer keeps every resource (calls, recordings) on the same base.
    """

    def __init__(self, base_url: str, timeout: float | None = None) -> None:
        super().__init__(timeout=timeout, max_retries=0)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API_ORIGIN):
            url = self.base_url + url[len(TWILIO_API_ORIGIN) :]
        return super().request(method, url, *args, **kwargs)


def make_client(
    account_sid: str, auth_token: str, api_base_url: str | None = None, timeout: float = 10.0
) -> Client:
    """Build a Twilio client; ``api_base_url`` redirects it (e.g. to the fake Twilio)."""
    if api_base_url and api_base_url.rstrip("/") != TWILIO_API_ORIGIN:
        http_client: TwilioHttpClient = RebasedHttpClient(api_base_url, timeout=timeout)
    else:
        http_client = TwilioHttpClient(timeout=timeout)
    return Client(account_sid, auth_token, http_client=http_client)


def twilio_client() -> Client:
    cfg = current_app.config
    return make_client(
        cfg["TWILIO_ACCOUNT_SID"],
        cfg["TWILIO_AUTH_TOKEN"],
        cfg["TWILIO_API_BASE_URL"],
        timeout=cfg["TWILIO_HTTP_TIMEOUT"],
    )


def public_url(path: str) -> str:
    """Absolute URL Twilio can reach for one of our paths."""
    base = current_app.config["PUBLIC_BASE_URL"] or f"http://127.0.0.1:{current_app.config['PORT']}"
    return base + path
