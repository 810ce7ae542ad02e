"""The survey webhook's two common turns served at the WSGI layer, before Flask.

A known caller's start and a plain score (``ivr.hot_path``) are most of the webhook traffic,
and Flask's request machinery (request context, routing, every extension's before and after
hooks, the Request and Response objects) cost the CPU of the turn itself again. This lane
serves such a turn only when it is sure of it: a form POSTed to the survey URL, signed by
Twilio for exactly the URL as we see it, every field valid, and a turn the hot path takes.
Anything else goes on to Flask unchanged, body given back: a bad or missing signature
(``twilio_signed`` answers 403), a malformed field (the apology), an unsigned request when
checking is switched off (logged there), a signature valid only for the URL with or
without its port, or a turn the hot path declines (it wrote nothing; the full flow's).
A failure once the hot path runs is the view's: logged, and the caller hears the apology.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from flask import Flask
from werkzeug.exceptions import SecurityError
from werkzeug.wsgi import get_current_url

from core.twilio_auth import public_base, signature_matches, signed_url
from core.twilio_params import BadParameter, clean, clean_args, fields, first_values
from core.twiml import TWIML_CONTENT_TYPE, apology_text
from ivr import hot_path, lifecycle
from ivr.turn import SURVEY_PATH, CallInput
from ivr.voice import call_input

log = logging.getLogger(__name__)

FORM = "application/x-www-form-urlencoded"
# Twilio's voice forms are about 1 KB; anything bigger is Flask's to read or refuse.
MAX_BODY = 64 * 1024


class FastLane:
    """WSGI middleware in front of the app's own ``wsgi_app`` (ProxyFix, if any, outside it)."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.app, self.wsgi_app = app, wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        reply = self.serve(environ)
        if reply is None:
            return self.wsgi_app(environ, start_response)
        length = str(len(reply))
        start_response("200 OK", [("Content-Type", TWIML_CONTENT_TYPE), ("Content-Length", length)])
        return [reply]

    def serve(self, wsgi_env: WSGIEnvironment) -> bytes | None:
        """The reply, or None for Flask to serve the request (its body left readable)."""
        if wsgi_env.get("PATH_INFO") != SURVEY_PATH or wsgi_env.get("REQUEST_METHOD") != "POST":
            return None
        limit = self.app.config.get("MAX_CONTENT_LENGTH")  # beyond it Flask answers 413
        body = read_form(wsgi_env, MAX_BODY if limit is None else min(limit, MAX_BODY))
        if body is None:
            return None
        inp = self.signed_input(wsgi_env, body)
        if inp is None or (inp.step == "start" and lifecycle.call_is_over(inp.form)):
            return None  # a <Dial action> after the caller hung up: the view closes the call
        with self.app.app_context():
            try:
                reply = hot_path.start_new_call(inp) or hot_path.plain_answer(inp)
            except Exception:
                # As the view: the caller never hears Twilio's "application error".
                log.exception("survey step %s failed for %s", inp.step, inp.call_sid)
                reply = apology_text()
        return None if reply is None else reply.encode()

    def signed_input(self, wsgi_env: WSGIEnvironment, body: bytes) -> CallInput | None:
        """The turn's input when Twilio signed this very URL and form and each field is valid."""
        config = self.app.config
        signature = wsgi_env.get("HTTP_X_TWILIO_SIGNATURE")
        if not signature or not config["VALIDATE_TWILIO_SIGNATURE"]:
            return None
        query = wsgi_env.get("QUERY_STRING", "")
        try:
            # As Werkzeug parses them, but a byte that is not UTF-8 is left to Werkzeug.
            form = fields(body.decode())
            args = fields(query.encode("latin-1").decode())
            base = public_base(
                config,
                lambda: get_current_url(
                    wsgi_env, host_only=True, trusted_hosts=config["TRUSTED_HOSTS"]
                ),
            )
        except (ValueError, SecurityError):
            return None
        url = signed_url(base, SURVEY_PATH, query)
        if not signature_matches(config["TWILIO_AUTH_TOKEN"], url, form, signature):
            return None
        try:
            return call_input(
                clean(first_values(form), ("CallSid",)), clean_args(first_values(args))
            )
        except BadParameter:
            return None


def read_form(wsgi_env: WSGIEnvironment, limit: int) -> bytes | None:
    """A url-encoded body of known length up to ``limit``, read and put back for Flask."""
    content_type = wsgi_env.get("CONTENT_TYPE", "")
    length = wsgi_env.get("CONTENT_LENGTH", "")
    if content_type.partition(";")[0].strip().lower() != FORM or not length.isdecimal():
        return None
    if int(length) > limit:
        return None
    body: bytes = wsgi_env["wsgi.input"].read(int(length))
    wsgi_env["wsgi.input"] = io.BytesIO(body)
    return body if len(body) == int(length) else None
