"""The fake Twilio REST API works with the real twilio library and places simulated calls."""

from __future__ import annotations

import threading

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from core.twilio_rest import make_client
from simulator.actions import Press, RecordAudio
from simulator.fake_twilio import Callee, FakeCall, FakeTwilio
from simulator.sinks import HttpRecordingSink
from tests.simulator.conftest import ACCOUNT_SID, AUTH_TOKEN, CALLER, SURVEY_NUMBER
from tests.simulator.twiml_app import TwimlApp, twiml

CUSTOMER = "+15005550020"
AGENT = "+15005550030"


@pytest.fixture
def client(fake_url):
    return make_client(ACCOUNT_SID, AUTH_TOKEN, fake_url)


@pytest.fixture
def recording_sid(fake: FakeTwilio, fake_url, wav) -> str:
    sid, _, _ = fake.store(ACCOUNT_SID, "CA" + "2" * 32, wav)
    return sid


def _media_url(fake_url: str, sid: str, ext: str = "") -> str:
    return f"{fake_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{sid}{ext}"


def test_recording_metadata_fetched_with_twilio_library(client, recording_sid):
    """recordings(sid).fetch() returns Twilio-shaped metadata."""
    recording = client.recordings(recording_sid).fetch()
    assert (recording.sid, recording.duration, recording.status) == (
        recording_sid,
        "2",
        "completed",
    )
    assert recording.date_created is not None


def test_recording_media_requires_basic_auth(fake_url, recording_sid, wav):
    """Media without extension is the WAV with basic auth, and 401 without."""
    url = _media_url(fake_url, recording_sid)
    assert requests.get(url, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5).content == wav
    denied = requests.get(url, timeout=5)
    assert (denied.status_code, denied.json()["code"]) == (401, 20003)


def test_recording_media_as_mp3(fake_url, recording_sid):
    """The .mp3 extension serves MP3 audio converted by ffmpeg."""
    media = requests.get(
        _media_url(fake_url, recording_sid, ".mp3"), auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=30
    )
    assert media.headers["Content-Type"] == "audio/mpeg"
    assert media.content[:3] == b"ID3" or media.content[0] == 0xFF


def test_fail_media_answers_with_forced_codes_then_recovers(fake, fake_url, recording_sid, wav):
    """fail_media makes the next fetches fail with the given codes, in order."""
    fake.fail_media(recording_sid, [404, 500])
    url = _media_url(fake_url, recording_sid, ".wav")
    codes = [requests.get(url, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5) for _ in range(3)]
    assert [r.status_code for r in codes] == [404, 500, 200]
    assert codes[2].content == wav


def test_deleted_recording_is_gone(client, fake, fake_url, recording_sid):
    """After delete, metadata and media answer 404."""
    assert client.recordings(recording_sid).delete() is True
    assert recording_sid in fake.deleted_recordings
    media = requests.get(_media_url(fake_url, recording_sid), auth=(ACCOUNT_SID, AUTH_TOKEN))
    assert media.status_code == 404
    with pytest.raises(TwilioRestException) as error:
        client.recordings(recording_sid).fetch()
    assert error.value.status == 404


def test_deleting_unknown_recording_is_404(client):
    """Deleting a recording that does not exist raises a 404 TwilioRestException."""
    with pytest.raises(TwilioRestException) as error:
        client.recordings("RE" + "9" * 32).delete()
    assert error.value.status == 404


def test_wrong_credentials_are_rejected(fake_url):
    """A wrong auth token gets Twilio's 401 error 20003."""
    with pytest.raises(TwilioRestException) as error:
        make_client(ACCOUNT_SID, "wrong", fake_url).calls("CA" + "4" * 32).fetch()
    assert (error.value.status, error.value.code) == (401, 20003)


def test_invalid_to_is_rejected_like_twilio(client, app_url):
    """A To that is not E.164 gets a 400 with Twilio error 21211."""
    with pytest.raises(TwilioRestException) as error:
        client.calls.create(to="555-1234", from_=SURVEY_NUMBER, url=f"{app_url}/voice")
    assert (error.value.status, error.value.code) == (400, 21211)


def test_created_call_is_queued_and_drives_the_app(client, fake, twiml_app: TwimlApp, app_url):
    """Calls.create answers queued; the callee's script then answers the app's Gather."""
    twiml_app.documents["/voice"] = twiml(
        '<Gather numDigits="1" action="/a"><Say>Q1</Say></Gather>'
    )
    fake.script_for(CUSTOMER, [Press("8")])
    call = client.calls.create(to=CUSTOMER, from_=SURVEY_NUMBER, url=f"{app_url}/voice")
    assert call.status == "queued"
    fake.wait_for_calls()
    answer = twiml_app.to("/a")[0]
    assert (answer.value("Digits"), answer.value("CallSid")) == ("8", call.sid)
    assert answer.value("Direction") == "outbound-api"
    assert client.calls(call.sid).fetch().status == "completed"


def test_status_callbacks_follow_call_progress(client, fake, twiml_app, app_url):
    """Requested events arrive as initiated, ringing, in-progress, completed."""
    client.calls.create(
        to=CUSTOMER,
        from_=SURVEY_NUMBER,
        url=f"{app_url}/voice",
        status_callback=f"{app_url}/status",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
    )
    fake.wait_for_calls()
    assert [r.value("CallStatus") for r in twiml_app.to("/status")] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]


def test_busy_callee_never_reaches_the_app(client, fake, twiml_app, app_url):
    """A busy callee ends the call as busy without requesting the voice URL."""
    fake.script_for(CUSTOMER, Callee("busy"))
    call = client.calls.create(
        to=CUSTOMER, from_=SURVEY_NUMBER, url=f"{app_url}/voice", status_callback=f"{app_url}/s"
    )
    fake.wait_for_calls()
    assert twiml_app.paths() == ["/s"]
    assert twiml_app.received[0].value("CallStatus") == "busy"
    assert client.calls(call.sid).fetch().status == "busy"


def test_fake_can_duplicate_and_reorder_callbacks(fake, client, twiml_app, app_url):
    """With both options the app receives each event twice, newest first."""
    fake.duplicate_callbacks = fake.reorder_callbacks = True
    client.calls.create(
        to=CUSTOMER,
        from_=SURVEY_NUMBER,
        url=f"{app_url}/voice",
        status_callback=f"{app_url}/status",
        status_callback_event=["ringing", "completed"],
    )
    fake.wait_for_calls()
    assert [r.value("CallStatus") for r in twiml_app.to("/status")] == [
        "completed",
        "completed",
        "ringing",
        "ringing",
    ]


def test_record_in_placed_call_lands_in_fake(client, fake, fake_url, twiml_app, app_url, wav):
    """A recording made during a placed call is downloadable from the fake."""
    twiml_app.documents["/voice"] = twiml('<Record action="/done"/>')
    fake.script_for(CUSTOMER, [RecordAudio(wav)])
    client.calls.create(to=CUSTOMER, from_=SURVEY_NUMBER, url=f"{app_url}/voice")
    fake.wait_for_calls()
    url = twiml_app.to("/done")[0].value("RecordingUrl") or ""
    assert url.startswith(fake_url)
    assert requests.get(url, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5).content == wav


def test_click_to_call_dial_creates_both_legs(client, fake, twiml_app, app_url):
    """Agent answers, the app dials the customer: both legs appear, linked by parent."""
    twiml_app.documents["/bridge"] = twiml(
        f'<Dial action="/dialed" callerId="{SURVEY_NUMBER}">'
        f'<Number statusCallback="/leg" statusCallbackEvent="answered completed">{CUSTOMER}'
        "</Number></Dial>"
    )
    fake.script_for(CUSTOMER, Callee(talk_seconds=42))
    agent_leg = client.calls.create(to=AGENT, from_=SURVEY_NUMBER, url=f"{app_url}/bridge")
    fake.wait_for_calls()
    children = client.calls.list(parent_call_sid=agent_leg.sid)
    assert [(c.to, c.status, c.duration) for c in children] == [(CUSTOMER, "completed", "42")]
    dialed = twiml_app.to("/dialed")[0]
    assert (dialed.value("DialCallSid"), dialed.value("DialCallDuration")) == (
        children[0].sid,
        "42",
    )
    assert [r.value("CallStatus") for r in twiml_app.to("/leg")] == ["in-progress", "completed"]


def test_unanswered_dial_leg_reports_no_answer(client, fake, twiml_app, app_url):
    """A customer who does not pick up gives DialCallStatus=no-answer."""
    twiml_app.documents["/bridge"] = twiml(f'<Dial action="/dialed">{CUSTOMER}</Dial>')
    fake.script_for(CUSTOMER, Callee("no-answer"))
    client.calls.create(to=AGENT, from_=SURVEY_NUMBER, url=f"{app_url}/bridge")
    fake.wait_for_calls()
    assert twiml_app.to("/dialed")[0].value("DialCallStatus") == "no-answer"


def test_inline_twiml_is_served_to_the_call(client, fake, fake_url):
    """Calls.create with Twiml instead of Url plays that TwiML."""
    call = client.calls.create(
        to=CUSTOMER, from_=SURVEY_NUMBER, twiml="<Response><Say>Hello there</Say></Response>"
    )
    fake.wait_for_calls()
    assert fake.calls[call.sid].heard == ["Hello there"]


def test_canceling_a_ringing_call_stops_it(fake, client, twiml_app, app_url):
    """Status=canceled while the callee's phone rings cancels the call before answer."""
    ringing, canceled = threading.Event(), threading.Event()

    def slow_to_answer(call: FakeCall) -> Callee:
        ringing.set()
        canceled.wait(5)
        return Callee()

    fake.script_for(CUSTOMER, slow_to_answer)
    call = client.calls.create(to=CUSTOMER, from_=SURVEY_NUMBER, url=f"{app_url}/voice")
    assert ringing.wait(5)
    assert client.calls(call.sid).update(status="canceled").status == "canceled"
    canceled.set()
    fake.wait_for_calls()
    assert client.calls(call.sid).fetch().status == "canceled"
    assert twiml_app.received == []


def test_control_script_endpoint_sets_callee(fake_url, fake, twiml_app, app_url, client):
    """POST /_fake/scripts scripts a callee from JSON."""
    twiml_app.documents["/voice"] = twiml('<Gather input="speech" action="/a"/>')
    requests.post(
        f"{fake_url}/_fake/scripts",
        json={"number": CUSTOMER, "actions": [{"speak": "nine"}], "answer": "answered"},
        timeout=5,
    ).raise_for_status()
    client.calls.create(to=CUSTOMER, from_=SURVEY_NUMBER, url=f"{app_url}/voice")
    fake.wait_for_calls()
    assert twiml_app.to("/a")[0].value("SpeechResult") == "nine"


def test_control_endpoints_list_calls_and_requests(fake_url, fake, client, app_url):
    """GET /_fake/calls and /_fake/requests show the call and its webhooks."""
    call = client.calls.create(to=CUSTOMER, from_=SURVEY_NUMBER, url=f"{app_url}/voice")
    fake.wait_for_calls()
    calls = requests.get(f"{fake_url}/_fake/calls", timeout=5).json()["calls"]
    log = requests.get(f"{fake_url}/_fake/requests", timeout=5).json()["requests"]
    assert [c["sid"] for c in calls] == [call.sid]
    assert {e["source"] for e in log} == {"api", "webhook"}


def test_http_recording_sink_stores_in_remote_fake(fake_url, fake, wav):
    """HttpRecordingSink uploads audio through /_fake/recordings."""
    sink = HttpRecordingSink(fake_url, ACCOUNT_SID, AUTH_TOKEN)
    sid, url, seconds = sink.store(ACCOUNT_SID, "CA" + "3" * 32, wav)
    assert (fake.recordings[sid].wav, seconds) == (wav, 2)
    assert url == _media_url(fake_url, sid)


def test_caller_default_script_answers_and_hangs_up(client, fake, twiml_app, app_url):
    """A number with no script answers and hangs up at the first prompt."""
    twiml_app.documents["/voice"] = twiml('<Gather action="/a"><Say>Hi</Say></Gather>')
    call = client.calls.create(to=CALLER, from_=SURVEY_NUMBER, url=f"{app_url}/voice")
    fake.wait_for_calls()
    assert fake.calls[call.sid].heard == ["Hi"]
    assert twiml_app.to("/a") == []


def test_redirecting_a_finished_call_is_refused(client, fake, app_url):
    """Updating a call that already ended gets Twilio's 400 error 21220."""
    call = client.calls.create(to=CUSTOMER, from_=SURVEY_NUMBER, url=f"{app_url}/voice")
    fake.wait_for_calls()
    with pytest.raises(TwilioRestException) as error:
        client.calls(call.sid).update(url=f"{app_url}/other")
    assert (error.value.status, error.value.code) == (400, 21220)


def test_control_script_endpoint_rejects_bad_scripts(fake_url):
    """An unknown action in a posted script is a 400, not a crash."""
    response = requests.post(
        f"{fake_url}/_fake/scripts",
        json={"number": CUSTOMER, "actions": [{"dance": True}]},
        timeout=5,
    )
    assert (response.status_code, response.json()["code"]) == (400, 21000)


def test_number_url_is_played_on_the_dialled_leg_once(client, fake, twiml_app: TwimlApp, app_url):
    """<Dial><Number url>: the dialled call records what its party heard, then is bridged."""
    fake.script_for(AGENT, Callee(talk_seconds=5))
    twiml_app.documents["/voice"] = twiml(
        f'<Dial action="/dialed"><Number url="/whisper">{AGENT}</Number></Dial>'
    )
    twiml_app.documents["/whisper"] = twiml("<Say>Whisper</Say>")
    call = client.calls.create(to=CUSTOMER, from_=SURVEY_NUMBER, url=f"{app_url}/voice")
    fake.wait_for_calls()
    [leg] = [c for c in fake.call_list() if c.to == AGENT]
    assert leg.heard == ["Whisper"] and leg.parent_call_sid == call.sid
    assert len(twiml_app.to("/whisper")) == 1 and (leg.duration or 0) >= 5
    assert twiml_app.to("/dialed")[0].value("DialBridged") == "true"
