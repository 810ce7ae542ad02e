"""Signed webhook requests, sent the way Twilio sends them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import requests
from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "X-Twilio-Signature"
USER_AGENT = "TwilioProxy/1.1"


@dataclass
class RecordedRequest:
    """One request the simulator sent, with what came back.

    Attributes:
        kind: ``voice`` (fetches TwiML), ``status`` (call progress), ``recording``
            (recording status) or ``dial-status`` (a dialled leg's progress).
    """

    kind: str
    method: str
    url: str
    params: dict[str, str]
    status_code: int | None
    body: str
    error: str | None = None
    signed_url: str = field(default="", repr=False)


def resolve_url(base: str, url: str) -> str:
    """Resolve a TwiML URL (maybe relative) against the current document's URL."""
    return urljoin(base, url.strip())


def public_url(url: str, public_base_url: str | None) -> str:
    """Return ``url`` as Twilio sees it: scheme and host replaced by the public base."""
    if not public_base_url:
        return url
    public = urlsplit(public_base_url)
    parts = urlsplit(url)
    # Keep any path prefix of the public base (an app mounted under /ivr behind a proxy).
    prefix = public.path.rstrip("/")
    return urlunsplit((public.scheme, public.netloc, prefix + parts.path, parts.query, ""))


class WebhookSender:
    """Sends form-encoded, signed requests to the application under test.

    Args:
        auth_token: the account's auth token, the key of ``X-Twilio-Signature``.
        http: the session to send with.
        public_base_url: when the app sits behind a proxy, the scheme and host the
            signature is computed over (requests still go to the real URL).
        timeout: seconds to wait for the app; Twilio gives up after 15 s.
    """

    def __init__(
        self,
        auth_token: str,
        http: requests.Session,
        public_base_url: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.validator = RequestValidator(auth_token)
        self.http = http
        self.public_base_url = public_base_url
        self.timeout = timeout

    def send(
        self, kind: str, url: str, params: Mapping[str, str], method: str = "POST"
    ) -> RecordedRequest:
        """Send one webhook and record the outcome; network errors become a record too."""
        method = method.upper() if method.upper() in {"GET", "POST"} else "POST"
        params = dict(params)
        if method == "GET":
            # Twilio puts GET parameters in the query string and signs the full URL.
            sep = "&" if urlsplit(url).query else "?"
            url = f"{url}{sep}{urlencode(params)}"
            signed_url = public_url(url, self.public_base_url)
            signature = self.validator.compute_signature(signed_url, {})
            body_params: dict[str, str] | None = None
        else:
            signed_url = public_url(url, self.public_base_url)
            signature = self.validator.compute_signature(signed_url, params)
            body_params = params
        headers = {SIGNATURE_HEADER: signature, "User-Agent": USER_AGENT}
        try:
            response = self.http.request(
                method, url, data=body_params, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            return RecordedRequest(kind, method, url, params, None, "", str(exc), signed_url)
        return RecordedRequest(
            kind, method, url, params, response.status_code, response.text, None, signed_url
        )


def delivery_url(url: str, app_base_url: str | None) -> str:
    """Where a webhook for ``url`` is sent: the app's real scheme and host, when given.

    An app configured with a public URL can then be exercised offline; the signature still
    covers ``url`` as the app gave it (see :func:`signed_base`).
    """
    if not app_base_url:
        return url
    target, parts = urlsplit(app_base_url), urlsplit(url)
    return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, ""))


def signed_base(url: str, app_base_url: str | None) -> str | None:
    """The public base a rerouted webhook is signed over (``None``: the URL it goes to)."""
    if not app_base_url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
