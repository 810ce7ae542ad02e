"""The caller simulator follows TwiML and sends requests the way Twilio does."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from simulator.actions import HangUp, Press, RecordAudio, Silent, Speak
from simulator.audio import tone_wav
from simulator.caller import CallerSimulator, DialOutcome, DialRequest
from simulator.fake_twilio import FakeTwilio
from tests.simulator.conftest import ACCOUNT_SID, AUTH_TOKEN, CALLER, SURVEY_NUMBER
from tests.simulator.twiml_app import Received, TwimlApp, twiml

GATHER_ONE = twiml(
    '<Gather numDigits="1" action="/answer?step=2"><Say>Press a key</Say></Gather>',
    "<Say>We did not get that</Say>",
)


def _valid(received: Received, url: str | None = None) -> bool:
    params = MultiDict(received.form) if received.method == "POST" else {}
    validator = RequestValidator(AUTH_TOKEN)
    return validator.validate(url or received.url, params, received.signature)


def test_first_request_carries_twilio_voice_parameters(simulator, twiml_app, app_url):
    """The first voice request has Twilio's standard parameters and CallStatus ringing."""
    simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER, call_sid="CA1").run([])
    first = twiml_app.received[0]
    assert {k: v[0] for k, v in first.form.items()} == {
        "CallSid": "CA1",
        "AccountSid": ACCOUNT_SID,
        "From": CALLER,
        "To": SURVEY_NUMBER,
        "Caller": CALLER,
        "Called": SURVEY_NUMBER,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }


def test_outbound_api_call_is_in_progress_at_first_request(simulator, twiml_app, app_url):
    """An outbound-api call is already answered when its URL is requested."""
    call = simulator.call(f"{app_url}/v", from_=CALLER, to=SURVEY_NUMBER, direction="outbound-api")
    call.run([])
    assert twiml_app.received[0].value("CallStatus") == "in-progress"


def test_requests_are_signed_over_the_real_url(simulator, twiml_app, app_url):
    """X-Twilio-Signature verifies with RequestValidator over the URL requested."""
    twiml_app.documents["/voice"] = GATHER_ONE
    simulator.call(f"{app_url}/voice?survey=7", from_=CALLER, to=SURVEY_NUMBER).run([Press("4")])
    assert len(twiml_app.received) == 2
    assert all(_valid(r) for r in twiml_app.received)


def test_public_base_url_signs_over_the_public_url(fake, twiml_app, app_url):
    """Behind a proxy, requests reach the real URL but are signed over the public one."""
    public = "https://survey.example.com"
    simulator = CallerSimulator(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, recordings=fake, public_base_url=public
    )
    simulator.call(f"{app_url}/voice?x=1", from_=CALLER, to=SURVEY_NUMBER).run([])
    received = twiml_app.received[0]
    assert not _valid(received)
    assert _valid(received, f"{public}/voice?x=1")


def test_get_method_sends_parameters_in_signed_query(simulator, twiml_app, app_url):
    """With method GET the parameters travel in the query string, covered by the signature."""
    simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER, method="GET").run([])
    received = twiml_app.received[0]
    assert received.method == "GET"
    assert received.args["CallSid"].startswith("CA")
    assert _valid(received)


def test_gather_digits_go_to_relative_action(simulator, twiml_app, app_url):
    """Pressed digits are posted to the Gather action resolved against the document URL."""
    twiml_app.documents["/ivr/voice"] = GATHER_ONE.replace("/answer", "answer")
    simulator.call(f"{app_url}/ivr/voice", from_=CALLER, to=SURVEY_NUMBER).run([Press("7")])
    answer = twiml_app.received[1]
    assert answer.path == "/ivr/answer"
    assert answer.args == {"step": "2"}
    assert answer.value("Digits") == "7"


def test_gather_stops_at_finish_key(simulator, twiml_app, app_url):
    """finishOnKey ends input and is not part of Digits."""
    twiml_app.documents["/voice"] = twiml('<Gather action="/a" finishOnKey="*"/>')
    simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER).run([Press("12*3")])
    assert twiml_app.to("/a")[0].value("Digits") == "12"


def test_gather_num_digits_limits_input(simulator, twiml_app, app_url):
    """numDigits submits as soon as that many keys are pressed."""
    twiml_app.documents["/voice"] = twiml('<Gather action="/a" numDigits="2"/>')
    simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER).run([Press("9876")])
    assert twiml_app.to("/a")[0].value("Digits") == "98"


def test_speech_goes_to_speech_gather(simulator, twiml_app, app_url):
    """Speaking to a speech Gather sends SpeechResult and Confidence."""
    twiml_app.documents["/voice"] = twiml('<Gather input="dtmf speech" action="/a"/>')
    call = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER)
    call.run([Speak("nine out of ten", 0.8)])
    answer = twiml_app.to("/a")[0]
    assert answer.value("SpeechResult") == "nine out of ten"
    assert float(answer.value("Confidence") or 0) == 0.8
    assert answer.value("Digits") is None


def test_speech_to_dtmf_only_gather_is_silence(simulator, twiml_app, app_url):
    """Speaking to a dtmf-only Gather is no input: the call falls through."""
    twiml_app.documents["/voice"] = GATHER_ONE
    result = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER).run([Speak("5")])
    assert twiml_app.paths() == ["/voice"]
    assert result.heard == ["Press a key", "We did not get that"]


def test_gather_timeout_falls_through_to_next_verb(simulator, twiml_app, app_url):
    """Silence lets the Gather time out and the next verb play, without sleeping."""
    twiml_app.documents["/voice"] = GATHER_ONE.replace('numDigits="1"', 'timeout="30"')
    call = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER)
    result = call.run([Silent()])
    assert result.heard[-1] == "We did not get that"
    assert twiml_app.paths() == ["/voice"]
    assert result.duration >= 30


def test_action_on_empty_result_requests_action(simulator, twiml_app, app_url):
    """actionOnEmptyResult="true" requests the action even without input."""
    twiml_app.documents["/voice"] = twiml('<Gather action="/a" actionOnEmptyResult="true"/>')
    simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER).run([Silent()])
    answer = twiml_app.to("/a")[0]
    assert answer.value("Digits") is None
    assert answer.value("CallStatus") == "in-progress"


def test_gather_without_action_posts_to_current_document(simulator, twiml_app, app_url):
    """A Gather without action submits to the URL of the current document."""
    twiml_app.documents["/voice"] = twiml('<Redirect method="POST">/menu?x=1</Redirect>')
    twiml_app.documents["/menu"] = twiml('<Gather numDigits="1"/>')
    simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER).run([Press("3")])
    assert twiml_app.paths() == ["/voice", "/menu", "/menu"]
    assert twiml_app.received[2].args == {"x": "1"}
    assert twiml_app.received[2].value("Digits") == "3"


def test_redirect_follows_method(simulator, twiml_app, app_url):
    """Redirect uses its method attribute (GET puts parameters in the query)."""
    twiml_app.documents["/voice"] = twiml('<Say>Hi</Say><Redirect method="GET">/next</Redirect>')
    twiml_app.documents["/next"] = twiml("<Say>Next</Say>")
    result = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER).run([])
    nxt = twiml_app.to("/next")[0]
    assert nxt.method == "GET"
    assert nxt.args["CallSid"] == result.sid
    assert result.heard == ["Hi", "Next"]


def test_turns_report_prompts_and_what_the_call_waits_for(simulator, twiml_app, app_url):
    """start/respond return the prompts heard and the input awaited."""
    twiml_app.documents["/voice"] = twiml(
        '<Say>Welcome</Say><Gather input="speech" hints="yes,no" action="/a">'
        "<Say>Yes or no?</Say><Play>/beep.mp3</Play></Gather>"
    )
    twiml_app.documents["/a"] = twiml("<Say>Bye</Say><Hangup/><Say>never</Say>")
    call = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER)
    turn = call.start()
    assert turn.said == ["Welcome", "Yes or no?", f"[play {app_url}/beep.mp3]"]
    assert (turn.waiting_for, turn.gather_input, turn.hints) == ("gather", "speech", "yes,no")
    last = call.respond(Speak("yes"))
    assert (last.said, last.ended) == (["Bye"], True)


def test_end_of_document_hangs_up(simulator, twiml_app, app_url):
    """When the verbs run out, the call ends as completed."""
    twiml_app.documents["/voice"] = twiml("<Say>Only this</Say>")
    result = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER).run([])
    assert (result.status, result.heard) == ("completed", ["Only this"])


def test_actions_running_out_hangs_up(simulator, twiml_app, app_url):
    """run() hangs up when the script ends while the call waits for input."""
    twiml_app.documents["/voice"] = GATHER_ONE
    result = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER).run([])
    assert result.status == "completed"
    assert twiml_app.paths() == ["/voice"]


def test_application_error_ends_call(simulator, twiml_app, app_url):
    """A failing webhook makes the caller hear Twilio's application error and hang up."""
    twiml_app.statuses["/voice"] = 500
    result = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER).run([])
    assert result.heard == ["We are sorry, an application error has occurred. Goodbye."]
    assert "HTTP 500" in result.errors[0]
    assert result.status == "completed"


@pytest.mark.parametrize(
    ("reject", "status"), [('<Reject reason="busy"/>', "busy"), ("<Reject/>", "no-answer")]
)
def test_reject_ends_call_unanswered(simulator, twiml_app, app_url, reject, status):
    """<Reject> ends the call unanswered: busy for reason=busy, otherwise no-answer."""
    twiml_app.documents["/voice"] = twiml(reject, "<Say>never</Say>")
    result = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER).run([])
    assert (result.status, result.duration, result.heard) == (status, 0, [])


def test_record_posts_recording_to_action(simulator, fake, twiml_app, app_url, wav):
    """A recording is stored, then the action gets RecordingUrl, Sid, Duration and Digits."""
    twiml_app.documents["/voice"] = twiml('<Record action="/done" finishOnKey="#"/>')
    call = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER)
    result = call.run([RecordAudio(wav)])
    done = twiml_app.to("/done")[0]
    sid = done.value("RecordingSid") or ""
    assert fake.recordings[sid].wav == wav
    assert done.value("RecordingUrl") == result.recordings[0].url
    assert not (done.value("RecordingUrl") or "").endswith(".wav")
    assert (done.value("RecordingDuration"), done.value("Digits")) == ("2", "#")


def test_record_status_callback_is_signed_with_recording_fields(simulator, twiml_app, app_url, wav):
    """recordingStatusCallback gets a signed POST describing the completed recording."""
    twiml_app.documents["/voice"] = twiml(
        '<Record action="/done" recordingStatusCallback="/rec" maxLength="60"/>'
    )
    result = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER).run(
        [RecordAudio(wav)]
    )
    rec = twiml_app.to("/rec")[0]
    assert _valid(rec)
    expected = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": result.sid,
        "RecordingSid": result.recordings[0].sid,
        "RecordingUrl": result.recordings[0].url,
        "RecordingStatus": "completed",
        "RecordingDuration": "2",
        "RecordingChannels": "1",
        "RecordingSource": "RecordVerb",
    }
    assert {k: rec.value(k) for k in expected} == expected


def test_silent_record_skips_action_and_continues(simulator, twiml_app, app_url):
    """An empty recording skips the action URL and goes on to the next verb."""
    twiml_app.documents["/voice"] = twiml('<Record action="/done"/><Say>No message</Say>')
    result = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER).run([Silent()])
    assert twiml_app.paths() == ["/voice"]
    assert (result.heard, result.recordings) == (["No message"], [])


def test_record_without_action_requests_current_document(simulator, twiml_app, app_url, wav):
    """A Record without action posts the recording back to the current document URL."""
    twiml_app.documents["/voice"] = twiml("<Record/>")
    simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER).run([RecordAudio(wav)])
    assert twiml_app.paths() == ["/voice", "/voice"]
    assert twiml_app.received[1].value("RecordingSid")


def test_hang_up_during_record_still_delivers_recording(simulator, twiml_app, app_url, wav):
    """Hanging up while recording posts Digits=hangup and the recording callback."""
    twiml_app.documents["/voice"] = twiml(
        '<Record action="/done" recordingStatusCallback="/rec"/><Say>never</Say>'
    )
    call = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER)
    result = call.run([RecordAudio(wav, finish_key="hangup")])
    done = twiml_app.to("/done")[0]
    assert (done.value("Digits"), done.value("CallStatus")) == ("hangup", "completed")
    assert len(twiml_app.to("/rec")) == 1
    assert (result.status, result.heard) == ("completed", [])


def test_record_max_length_truncates_audio(simulator, twiml_app, app_url):
    """maxLength cuts a longer recording."""
    twiml_app.documents["/voice"] = twiml('<Record action="/done" maxLength="2"/>')
    call = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER)
    call.run([RecordAudio(tone_wav(5.0))])
    assert twiml_app.to("/done")[0].value("RecordingDuration") == "2"


def test_completed_status_callback(simulator, twiml_app, app_url):
    """The status callback gets CallStatus=completed with Twilio's progress fields."""
    twiml_app.documents["/voice"] = twiml("<Say>Hi</Say>")
    call = simulator.call(
        f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER, status_callback=f"{app_url}/status"
    )
    call.run([])
    status = twiml_app.to("/status")[0]
    assert _valid(status)
    assert status.value("CallStatus") == "completed"
    assert status.value("CallbackSource") == "call-progress-events"
    assert int(status.value("CallDuration") or 0) >= 1
    assert status.value("SequenceNumber") == "0"
    assert status.value("Timestamp")


def test_status_events_arrive_in_order(simulator, twiml_app, app_url):
    """Requested progress events are sent in call order with increasing SequenceNumber."""
    call = simulator.call(
        f"{app_url}/voice",
        from_=CALLER,
        to=SURVEY_NUMBER,
        status_callback=f"{app_url}/status",
        status_events=("initiated", "ringing", "answered", "completed"),
    )
    call.run([])
    statuses = [(r.value("CallStatus"), r.value("SequenceNumber")) for r in twiml_app.to("/status")]
    assert statuses == [
        ("initiated", "0"),
        ("ringing", "1"),
        ("in-progress", "2"),
        ("completed", "3"),
    ]


def test_duplicate_callbacks_are_sent_twice(fake, twiml_app, app_url, wav):
    """duplicate_callbacks sends every status and recording callback twice."""
    twiml_app.documents["/voice"] = twiml('<Record action="/done" recordingStatusCallback="/rec"/>')
    simulator = CallerSimulator(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, recordings=fake, duplicate_callbacks=True
    )
    call = simulator.call(
        f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER, status_callback=f"{app_url}/status"
    )
    call.run([RecordAudio(wav)])
    assert (len(twiml_app.to("/status")), len(twiml_app.to("/rec"))) == (2, 2)
    assert len(twiml_app.to("/done")) == 1


def test_reorder_callbacks_delivers_status_in_reverse(fake, twiml_app, app_url):
    """reorder_callbacks delivers the progress events at the end, completed first."""
    simulator = CallerSimulator(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, recordings=fake, reorder_callbacks=True
    )
    call = simulator.call(
        f"{app_url}/voice",
        from_=CALLER,
        to=SURVEY_NUMBER,
        status_callback=f"{app_url}/status",
        status_events=("ringing", "answered", "completed"),
    )
    call.run([])
    statuses = [(r.value("CallStatus"), r.value("SequenceNumber")) for r in twiml_app.to("/status")]
    assert statuses == [("completed", "2"), ("in-progress", "1"), ("ringing", "0")]
    assert twiml_app.paths()[0] == "/voice"


def test_dial_reports_to_action_and_number_status_callback(simulator, twiml_app, app_url):
    """Dial posts the leg's progress to Number statusCallback, then DialCallStatus to action."""
    twiml_app.documents["/voice"] = twiml(
        '<Dial action="/dialed" callerId="+15005550009" timeout="20">'
        '<Number statusCallback="/leg" statusCallbackEvent="initiated ringing answered completed">'
        "+15005550010</Number></Dial>"
    )
    result = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER).run([])
    legs = twiml_app.to("/leg")
    assert [r.value("CallStatus") for r in legs] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert {r.value("ParentCallSid") for r in legs} == {result.sid}
    assert (legs[-1].value("CallDuration"), legs[-1].value("From")) == ("1", "+15005550009")
    dialed = twiml_app.to("/dialed")[0]
    assert dialed.value("DialCallStatus") == "completed"
    assert dialed.value("DialCallSid") == legs[0].value("CallSid")
    assert dialed.value("DialCallDuration") == "1"


def test_dial_without_action_continues(simulator, twiml_app, app_url):
    """Without an action, the verb after Dial runs."""
    twiml_app.documents["/voice"] = twiml("<Dial>+15005550010</Dial><Say>After</Say>")
    result = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER).run([])
    assert result.heard == ["After"]


def test_dial_handler_decides_outcome(fake, twiml_app, app_url):
    """A dial handler's busy outcome reaches the action as DialCallStatus=busy."""
    seen: list[DialRequest] = []

    def busy(request: DialRequest) -> DialOutcome:
        seen.append(request)
        return DialOutcome("busy")

    simulator = CallerSimulator(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, recordings=fake, dial_handler=busy
    )
    twiml_app.documents["/voice"] = twiml(
        '<Dial action="/dialed"><Number>+15005550010</Number></Dial>'
    )
    result = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER).run([])
    dialed = twiml_app.to("/dialed")[0]
    assert (dialed.value("DialCallStatus"), dialed.value("DialCallDuration")) == ("busy", None)
    assert (seen[0].number, seen[0].caller_id, seen[0].parent_call_sid) == (
        "+15005550010",
        CALLER,
        result.sid,
    )


def test_caller_hanging_up_on_the_bridge_ends_the_call(fake, twiml_app, app_url):
    """The action still hears of the dial (CallStatus completed); its TwiML is not played."""

    def caller_leaves(request: DialRequest) -> DialOutcome:
        return DialOutcome("answered", duration=30, caller_hung_up=True)

    simulator = CallerSimulator(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, recordings=fake, dial_handler=caller_leaves
    )
    twiml_app.documents["/voice"] = twiml(
        '<Dial action="/dialed"><Number>+15005550010</Number></Dial><Say>Unreachable</Say>'
    )
    twiml_app.documents["/dialed"] = twiml("<Say>Survey</Say>")
    result = simulator.call(
        f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER, status_callback=f"{app_url}/s"
    ).run([])
    [dialed] = twiml_app.to("/dialed")
    assert (dialed.value("CallStatus"), dialed.value("DialCallStatus")) == (
        "completed",
        "completed",
    )
    assert result.heard == [] and result.status == "completed"
    assert [r.value("CallStatus") for r in twiml_app.to("/s")] == ["completed"]


def test_number_url_is_played_to_the_dialled_party_before_the_bridge(simulator, twiml_app, app_url):
    """<Number url>: the answering leg requests it (signed, with ParentCallSid), hears it,
    and is bridged when it ends; the caller never hears it."""
    twiml_app.documents["/voice"] = twiml(
        '<Dial action="/dialed"><Number url="/whisper?s=1">+15005550010</Number></Dial>'
    )
    twiml_app.documents["/whisper"] = twiml("<Say>Caller scored 3.</Say>")
    result = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER).run([])
    [whisper] = twiml_app.to("/whisper")
    assert _valid(whisper) and whisper.url.endswith("/whisper?s=1")
    assert (whisper.value("ParentCallSid"), whisper.value("To")) == (result.sid, "+15005550010")
    assert whisper.value("Direction") == "outbound-dial"
    [leg] = result.legs
    assert leg.heard == ["Caller scored 3."] and "Caller scored 3." not in result.heard
    dialed = twiml_app.to("/dialed")[0]
    assert (dialed.value("DialCallStatus"), dialed.value("DialBridged")) == ("completed", "true")


def test_number_url_that_hangs_up_screens_the_call_out(simulator, twiml_app, app_url):
    """A <Hangup> in the dialled party's TwiML ends the dial unbridged."""
    twiml_app.documents["/voice"] = twiml(
        '<Dial action="/dialed"><Number url="/screen">+15005550010</Number></Dial>'
    )
    twiml_app.documents["/screen"] = twiml("<Say>Not now</Say>", "<Hangup/>")
    result = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER).run([])
    assert result.legs[0].heard == ["Not now"]
    dialed = twiml_app.to("/dialed")[0]
    assert dialed.value("DialBridged") == "false"


def test_interrupt_redirects_waiting_call(simulator, twiml_app, app_url):
    """A REST redirect abandons the waiting Gather and fetches the new URL."""
    twiml_app.documents["/voice"] = GATHER_ONE
    twiml_app.documents["/moved"] = twiml("<Say>Moved</Say>")
    call = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER)
    call.start()
    call.interrupt(redirect_url=f"{app_url}/moved")
    turn = call.respond(Press("1"))
    assert (turn.said, turn.ended) == (["Moved"], True)
    assert twiml_app.paths() == ["/voice", "/moved"]


def test_hang_up_ends_call_without_action(simulator, twiml_app, app_url):
    """Hanging up at a Gather ends the call without requesting the action."""
    twiml_app.documents["/voice"] = GATHER_ONE
    call = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER)
    call.start()
    assert call.respond(HangUp()).ended
    assert twiml_app.paths() == ["/voice"]


def test_redirect_loop_is_cut_off(simulator, twiml_app, app_url):
    """A chain of redirects that never waits for input ends with an application error."""
    twiml_app.documents["/voice"] = twiml("<Redirect>/voice</Redirect>")
    result = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER).run([])
    assert result.errors and result.status == "completed"
    assert urlsplit(twiml_app.received[-1].url).path == "/voice"


def test_fake_twilio_is_a_recording_sink(fake: FakeTwilio, wav):
    """FakeTwilio.store keeps the audio and returns an extension-less URL."""
    fake.base_url = "http://fake.test"
    sid, url, seconds = fake.store(ACCOUNT_SID, "CA1", wav)
    assert url == f"http://fake.test/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{sid}"
    assert (fake.recordings[sid].wav, seconds) == (wav, 2)


def test_twiml_app_helper_sees_every_request(twiml_app: TwimlApp, simulator, app_url):
    """Every request (voice and callbacks) is recorded with the simulator's log."""
    result = simulator.call(
        f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER, status_callback=f"{app_url}/s"
    ).run([])
    assert [r.kind for r in result.requests] == ["voice", "status"]
    assert [r.status_code for r in result.requests] == [200, 200]
