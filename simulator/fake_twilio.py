"""A fake of the Twilio REST API (calls, recordings and messages) as a Flask app.

Paths, authentication, JSON shapes and error bodies follow Twilio's 2010-04-01 API, so the
real ``twilio`` library works against it. ``/_fake/*`` endpoints let a developer or another
process script callees, store recordings and inspect what happened.
"""

from __future__ import annotations

import hmac
import ipaddress
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from simulator import messages
from simulator.actions import action_from_json
from simulator.audio import wav_to_mp3
from simulator.fake_state import Callee, FakeTwilio
from simulator.resources import FINAL_STATUSES, FakeCall, FakeRecording
from simulator.rest import ACCOUNT, E164, created, not_found, page, twilio_error
from simulator.sids import API_VERSION, new_sid
from simulator.sinks import HttpRecordingSink

__all__ = [
    "Callee",
    "FakeCall",
    "FakeRecording",
    "FakeTwilio",
    "HttpRecordingSink",
    "create_fake_twilio_app",
    "twilio_error",
]

ANSWERS = {"answered", "busy", "no-answer", "failed"}

api = Blueprint("fake_twilio_api", __name__)
control = Blueprint("fake_twilio_control", __name__, url_prefix="/_fake")


def create_fake_twilio_app(fake: FakeTwilio) -> Flask:
    """Build the Flask app serving ``fake``."""
    app = Flask(__name__)
    app.extensions["fake_twilio"] = fake
    app.extensions[messages.EXTENSION] = fake.messages
    app.register_blueprint(api)
    app.register_blueprint(messages.api)
    app.register_blueprint(messages.control)  # a phone texting in, for other processes
    app.register_blueprint(control)
    app.before_request(_remember_base_url)
    app.after_request(_log_request)
    return app


def _fake() -> FakeTwilio:
    fake: FakeTwilio = current_app.extensions["fake_twilio"]
    return fake


def _remember_base_url() -> None:
    fake = _fake()
    if fake.base_url is None:
        fake.base_url = request.host_url.rstrip("/")


def _log_request(response: Response) -> Response:
    _fake().log_api(
        {
            "source": "api",
            "method": request.method,
            "path": request.full_path.rstrip("?"),
            "status": response.status_code,
            "at": datetime.now(UTC).isoformat(),
        }
    )
    return response


@api.before_request
def _authenticate() -> Response | None:
    """Require HTTP basic auth with the account SID and auth token, as Twilio does."""
    fake = _fake()
    auth = request.authorization
    username = (auth.username or "") if auth else ""
    password = (auth.password or "") if auth else ""
    if not (
        hmac.compare_digest(username, fake.account_sid)
        and hmac.compare_digest(password, fake.auth_token)
    ):
        response = twilio_error(401, 20003, "Authenticate")
        response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        return response
    path_account = (request.view_args or {}).get("account_sid")
    if path_account is not None and path_account != fake.account_sid:
        return twilio_error(404, 20404, "The requested resource was not found")
    return None


messages.api.before_request(_authenticate)  # texts need the same credentials


# --- calls ----------------------------------------------------------------------------


@api.post(f"{ACCOUNT}/Calls.json")
def create_call(account_sid: str) -> Response:
    """``Calls.create``: validate, answer 201 queued, ring the callee in the background."""
    form = request.form
    to, from_ = form.get("To", ""), form.get("From", "")
    if not to:
        return twilio_error(400, 21201, "No 'To' number is specified")
    if not from_:
        return twilio_error(400, 21213, "No 'From' number is specified")
    if not E164.match(to):
        return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
    if not E164.match(from_):
        return twilio_error(400, 21212, f"Invalid From Number (caller ID): {from_}")
    if not form.get("Url") and not form.get("Twiml") and not form.get("ApplicationSid"):
        return twilio_error(400, 21205, "Url parameter is required.")
    events = [e for value in form.getlist("StatusCallbackEvent") for e in value.split()]
    call = FakeCall(
        sid=new_sid("CA"),
        account_sid=account_sid,
        to=to,
        from_=from_,
        direction="outbound-api",
        url=form.get("Url") or None,
        method=form.get("Method", "POST").upper(),
        twiml=form.get("Twiml") or None,
        status_callback=form.get("StatusCallback") or None,
        status_callback_method=form.get("StatusCallbackMethod", "POST").upper(),
        status_callback_events=tuple(events or ["completed"]),
    )
    body = call.to_json()  # before the call thread can move it past queued
    _fake().place_call(call)
    return created(body)


@api.get(f"{ACCOUNT}/Calls.json")
def list_calls(account_sid: str) -> Response:
    """List calls, newest first, filtered like Twilio by To, From, Status, ParentCallSid."""
    fake = _fake()
    filters = {
        "to": request.args.get("To"),
        "from": request.args.get("From"),
        "status": request.args.get("Status"),
        "parent_call_sid": request.args.get("ParentCallSid"),
    }
    calls = [call.to_json() for call in fake.call_list()]
    calls = [c for c in calls if all(v is None or c[k] == v for k, v in filters.items())]
    calls.sort(key=lambda c: c["date_created"], reverse=True)
    return page("calls", calls, f"/{API_VERSION}/Accounts/{account_sid}/Calls.json")


@api.get(f"{ACCOUNT}/Calls/<call_sid>.json")
def fetch_call(account_sid: str, call_sid: str) -> Response:
    """Fetch one call."""
    call = _fake().calls.get(call_sid)
    return jsonify(call.to_json()) if call else not_found()


@api.post(f"{ACCOUNT}/Calls/<call_sid>.json")
def update_call(account_sid: str, call_sid: str) -> Response:
    """Update a live call: ``Status=completed|canceled`` ends it, ``Url`` redirects it."""
    fake = _fake()
    if call_sid not in fake.calls:
        return not_found()
    status = request.form.get("Status")
    if status and status not in {"completed", "canceled"}:
        return twilio_error(400, 21218, f"Invalid value for Status: {status}")
    if fake.calls[call_sid].status in FINAL_STATUSES:
        return twilio_error(400, 21220, "Call is not in-progress. Cannot redirect.")
    fake.update_call(
        call_sid,
        status=status,
        url=request.form.get("Url"),
        method=request.form.get("Method", "POST").upper(),
    )
    return jsonify(fake.calls[call_sid].to_json())


# --- recordings -----------------------------------------------------------------------


@api.get(f"{ACCOUNT}/Recordings/<name>")
def fetch_recording(account_sid: str, name: str) -> Response:
    """Recording metadata (``.json``) or media (no extension or ``.wav``: WAV; ``.mp3``)."""
    fake = _fake()
    sid, _, ext = name.partition(".")
    recording = fake.recordings.get(sid)
    if recording is None or ext not in {"", "json", "wav", "mp3"}:
        return not_found()
    if ext == "json":
        return jsonify(recording.to_json())
    failure = fake.next_media_failure(sid)
    if failure is not None:
        code = {401: 20003, 404: 20404}.get(failure, 20000 + failure)
        return twilio_error(failure, code, f"Forced media failure {failure}")
    if ext == "mp3":
        return Response(wav_to_mp3(recording.wav), mimetype="audio/mpeg")
    return Response(recording.wav, mimetype="audio/x-wav")


@api.get(f"{ACCOUNT}/Recordings.json")
def list_recordings(account_sid: str) -> Response:
    """List recordings, newest first; ``CallSid`` keeps one call's."""
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Recordings.json"
    return _recordings_page(request.args.get("CallSid"), uri)


@api.get(f"{ACCOUNT}/Calls/<call_sid>/Recordings.json")
def list_call_recordings(account_sid: str, call_sid: str) -> Response:
    """A call's recordings (its ``subresource_uris.recordings``), newest first."""
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Calls/{call_sid}/Recordings.json"
    return _recordings_page(call_sid, uri)


def _recordings_page(call_sid: str | None, uri: str) -> Response:
    items = [recording.to_json() for recording in _fake().recording_list(call_sid or None)]
    return page("recordings", items, uri)


@api.delete(f"{ACCOUNT}/Recordings/<name>")
def delete_recording(account_sid: str, name: str) -> Response:
    """Delete a recording: 204, or 404 when unknown."""
    sid = name.removesuffix(".json")
    if not _fake().delete_recording(sid):
        return not_found()
    return Response(status=204)


# --- control endpoints for local use --------------------------------------------------


@control.before_request
def _loopback_or_authenticated() -> Response | None:
    """Control endpoints are open on loopback; from elsewhere they need basic auth."""
    if ipaddress.ip_address(request.remote_addr or "0.0.0.0").is_loopback:  # noqa: S104
        return None
    fake, auth = _fake(), request.authorization
    if auth and auth.username == fake.account_sid and auth.password == fake.auth_token:
        return None
    return twilio_error(401, 20003, "Authenticate")


@control.post("/recordings")
def store_recording() -> Response:
    """Store a WAV (multipart ``file`` or raw body) for ``call_sid``; for remote simulators."""
    call_sid = request.values.get("call_sid", "")
    upload = request.files.get("file")
    wav = upload.read() if upload else request.get_data()
    if not call_sid or not wav:
        return twilio_error(400, 21000, "call_sid and WAV audio are required")
    fake = _fake()
    try:
        sid, url, duration = fake.store(fake.account_sid, call_sid, wav)
    except Exception as exc:  # wave.Error, EOFError: anything but a readable WAV
        return twilio_error(400, 21000, f"not a WAV file: {exc}")
    return jsonify(sid=sid, url=url, duration=duration)


@control.post("/scripts")
def set_script() -> Response:
    """Set a callee script: ``{number, actions: [...], answer, talk_seconds}``."""
    body: dict[str, Any] = request.get_json(force=True, silent=True) or {}
    number = str(body.get("number", ""))
    answer = body.get("answer", "answered")
    if not E164.match(number) or answer not in ANSWERS:
        return twilio_error(400, 21000, "number must be E.164 and answer one of " + str(ANSWERS))
    try:
        actions = tuple(action_from_json(item) for item in body.get("actions", []))
        talk = int(body.get("talk_seconds", 1))
    except (ValueError, TypeError, AttributeError) as exc:
        return twilio_error(400, 21000, str(exc))
    _fake().script_for(number, Callee(answer, actions, talk))
    return jsonify(number=number, answer=answer, actions=len(actions))


@control.get("/calls")
def control_calls() -> Response:
    """All calls, dial legs included, with what each heard."""
    fake = _fake()
    calls = [call.to_json() | {"heard": list(call.heard)} for call in fake.call_list()]
    return jsonify(calls=calls)


@control.get("/messages")
def control_messages() -> Response:
    """All texts, with the status callbacks each one sent and what came back."""
    texts = [message.report() for message in _fake().messages.all()]
    return jsonify(messages=texts)


@control.get("/requests")
def control_requests() -> Response:
    """REST requests received, then webhooks the simulated calls sent."""
    fake = _fake()
    entries: list[dict[str, Any]] = list(fake.api_log)
    for call in fake.call_list():
        entries.extend(
            {
                "source": "webhook",
                "call_sid": call.sid,
                "kind": sent.kind,
                "method": sent.method,
                "url": sent.url,
                "params": sent.params,
                "status": sent.status_code,
            }
            for sent in call.webhooks
        )
    return jsonify(requests=entries)


@control.route("/twiml/<call_sid>", methods=["GET", "POST"])
def inline_twiml(call_sid: str) -> Response:
    """Serve the ``Twiml`` given to ``Calls.create`` so the simulator can fetch it."""
    call = _fake().calls.get(call_sid)
    if call is None or not call.twiml:
        return not_found()
    return Response(call.twiml, mimetype="text/xml")
