"""End to end through the caller simulator: the survey as a caller experiences it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

from core.db import db
from core.models import CallSession, Contact, Recording, RecordingStatus, SurveyOutcome
from ivr.person import OPT_OUT_CHECK
from simulator.actions import HangUp, Press, RecordAudio, Silent, Speak
from simulator.audio import tone_wav
from simulator.caller import CallerSimulator, CallResult
from tests.conftest import COMPANY_NUMBER, CUSTOMER, Worker, twilio_post


def call(
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    actions: list[Any],
    caller: str = CUSTOMER,
) -> CallResult:
    return simulator.call(
        survey_url, from_=caller, to=COMPANY_NUMBER, status_callback=status_url
    ).run(actions)


def session_for(result: CallResult) -> CallSession:
    db.session.expire_all()
    session = db.session.scalar(db.select(CallSession).where(CallSession.call_sid == result.sid))
    assert session is not None
    return session


def answers(session: CallSession) -> dict[str, int | None]:
    return {a.question.key: a.value for a in session.answers}


def heard(result: CallResult) -> str:
    return " ".join(result.heard)


COMMENT = tone_wav(2.0)


def test_full_keypad_survey_stores_every_answer(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """A caller who keys every answer completes the survey with answers and a recording."""
    result = call(
        simulator,
        survey_url,
        status_url,
        [
            Press("9#"),
            Press("4"),
            Press("1"),
            Press("1"),
            RecordAudio(COMMENT),
            Press("2"),
        ],
    )
    session = session_for(result)
    assert answers(session) == {"nps": 9, "csat": 4, "resolved": 1}
    assert session.outcome is SurveyOutcome.COMPLETED
    assert session.status.value == "completed"
    assert session.consent_recording is True
    assert session.wants_callback is False
    assert [r.recording_sid for r in session.recordings] == [result.recordings[0].sid]
    assert "Thank you for your feedback. Goodbye." in heard(result)
    assert result.errors == []


def test_spoken_answers_are_understood(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """Words like "nine out of ten", "four" and "yes" become the right values."""
    result = call(
        simulator,
        survey_url,
        status_url,
        [
            Speak("nine out of ten"),
            Speak("I'd say four"),
            Speak("yes it was"),
            Speak("no thanks"),
            Speak("no"),
        ],
    )
    session = session_for(result)
    assert answers(session) == {"nps": 9, "csat": 4, "resolved": 1}
    assert session.consent_recording is False
    assert session.answers[0].speech == "nine out of ten"
    assert session.recordings == []


def test_bad_input_is_reprompted_twice_then_skipped(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """Out of range, silence and nonsense get two reprompts, then the question is skipped."""
    result = call(
        simulator,
        survey_url,
        status_url,
        [
            Press("42#"),
            Silent(),
            Speak("banana"),
            Press("5"),
            Press("1"),
            Press("2"),
            Press("2"),
        ],
    )
    session = session_for(result)
    assert answers(session) == {"nps": None, "csat": 5, "resolved": 1}
    nps = session.answer_for("nps")
    assert nps is not None and nps.attempts == 3
    assert heard(result).count("Sorry, I didn't catch that.") == 2
    assert session.outcome is SurveyOutcome.COMPLETED


def test_pressing_zero_without_transfer_number_books_a_callback(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """0 at a question offers a person; with nobody to transfer to, a callback is booked."""
    result = call(
        simulator, survey_url, status_url, [Press("8#"), Press("0"), Press("1"), Press("1")]
    )
    session = session_for(result)
    assert session.asked_for_human is True
    assert session.wants_callback is True
    assert session.callback_number == CUSTOMER
    assert session.callback_preference == "now"
    assert answers(session) == {"nps": 8}
    assert "we will call you back" in heard(result)


def test_pressing_zero_in_hours_transfers_to_a_person(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a transfer number in hours, 0 dials it and a completed transfer ends the survey."""
    monkeypatch.setitem(app.config, "TRANSFER_NUMBER", "+14155550999")
    # 24:00, not 23:59: the last minute of the team's day would be out of hours.
    monkeypatch.setitem(app.config, "TRANSFER_HOURS", "00:00-24:00")
    result = call(simulator, survey_url, status_url, [Press("3#"), Press("0")])
    session = session_for(result)
    assert "Please hold while we connect you" in heard(result)
    assert session.asked_for_human is True
    assert session.transferred is True
    assert session.outcome is SurveyOutcome.PARTIAL


def test_zero_on_the_nps_question_is_a_score(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """On the 0-10 question a lone 0 is the score zero, not a request for a person."""
    result = call(simulator, survey_url, status_url, [Press("0#"), HangUp()])
    session = session_for(result)
    assert answers(session) == {"nps": 0}
    assert session.asked_for_human is False


def test_star_asks_for_a_person_on_the_nps_question(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """On the 0-10 question, where 0 is a score, the star key asks for a person."""
    result = call(simulator, survey_url, status_url, [Press("*"), Press("1"), Press("2")])
    session = session_for(result)
    assert session.asked_for_human is True
    assert session.callback_preference == "later_today"


def assert_opted_out_for_good(
    client: Any, simulator: CallerSimulator, urls: tuple[str, str]
) -> None:
    """The contact is opted out, the API refuses survey calls, and a new call ends at once."""
    contact = db.session.scalar(db.select(Contact).where(Contact.phone == CUSTOMER))
    assert contact is not None and contact.opted_out_at is not None
    response = client.post(
        "/api/surveys/calls",
        json={"to": CUSTOMER},
        headers={"Authorization": "Bearer test-api-token"},
    )
    assert response.status_code == 409
    assert response.get_json()["error"] == "opted_out"
    again = call(simulator, *urls, [Press("5#")])
    assert "asked not to receive surveys" in heard(again)


def test_pressing_nine_opts_out_at_once(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str, client: Any
) -> None:
    """9 on a question where it is not a score opts out immediately, with no read-back."""
    result = call(simulator, survey_url, status_url, [Press("6#"), Press("9")])
    assert "removed from all future surveys" in heard(result)
    assert OPT_OUT_CHECK not in heard(result)
    assert_opted_out_for_good(client, simulator, (survey_url, status_url))


@pytest.mark.parametrize(
    "confirm",
    [Press("1"), Speak("yes"), Speak("yes, stop calling me")],
    ids=["key", "yes", "again"],
)
def test_spoken_opt_out_is_read_back_and_applied_when_confirmed(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    client: Any,
    confirm: Any,
) -> None:
    """ "Stop calling me" is read back; confirmed, the caller is opted out for good."""
    result = call(simulator, survey_url, status_url, [Speak("stop calling me"), confirm])
    assert OPT_OUT_CHECK in heard(result)
    assert "removed from all future surveys" in heard(result)
    session = session_for(result)
    assert session.opted_out is True and session.outcome is SurveyOutcome.PARTIAL
    assert_opted_out_for_good(client, simulator, (survey_url, status_url))


@pytest.mark.parametrize(
    "decline", [Press("2"), Speak("no"), Speak("no, carry on")], ids=["key", "no", "carry-on"]
)
def test_declined_spoken_opt_out_returns_to_the_same_question(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    decline: Any,
) -> None:
    """Declining the read-back asks the same question again and nobody is opted out."""
    result = call(
        simulator,
        survey_url,
        status_url,
        [Press("7#"), Speak("take me off your list"), decline, Press("4"), HangUp()],
    )
    assert "No problem, let's carry on. How satisfied were you" in heard(result)
    session = session_for(result)
    assert answers(session) == {"nps": 7, "csat": 4}
    assert session.opted_out is False
    assert session.contact is not None and session.contact.opted_out_at is None


def test_unclear_reply_to_the_opt_out_read_back_never_opts_out(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """Without a clear yes (three unclear replies) the caller is not opted out."""
    result = call(
        simulator,
        survey_url,
        status_url,
        [Speak("unsubscribe"), Speak("banana"), Silent(), Speak("hmm"), Press("9#"), HangUp()],
    )
    assert heard(result).count(OPT_OUT_CHECK) == 3
    session = session_for(result)
    assert session.contact is not None and session.contact.opted_out_at is None
    assert answers(session) == {"nps": 9}


def test_a_score_with_an_opt_out_is_stored_before_the_read_back(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """ "Eight, but stop calling me": 8 is kept; declining goes on to the next question."""
    result = call(
        simulator,
        survey_url,
        status_url,
        [Speak("eight, but stop calling me"), Press("2"), Press("5"), HangUp()],
    )
    assert OPT_OUT_CHECK in heard(result)
    assert answers(session_for(result)) == {"nps": 8, "csat": 5}


def test_a_score_with_a_request_for_a_person_stores_the_score_then_offers_one(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """ "Eight, but can I talk to someone about my bill" scores 8 and books a callback."""
    result = call(
        simulator,
        survey_url,
        status_url,
        [Speak("eight, but can I talk to someone about my bill"), Press("1"), Press("1")],
    )
    session = session_for(result)
    assert answers(session) == {"nps": 8}
    assert session.asked_for_human is True and session.wants_callback is True


@pytest.mark.parametrize(
    ("speech", "nps"),
    [
        ("ten, the agent was great", 10),
        ("nothing wrong, I'd give it a ten", 10),
        ("eight, they helped me stop the charge", 8),
    ],
)
def test_descriptions_are_not_requests(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str, speech: str, nps: int
) -> None:
    """Words about the call score the question and neither opt out nor ask for a person."""
    result = call(simulator, survey_url, status_url, [Speak(speech), HangUp()])
    session = session_for(result)
    assert answers(session) == {"nps": nps}
    assert session.asked_for_human is False and session.opted_out is False
    assert OPT_OUT_CHECK not in heard(result)


def test_low_confidence_reply_is_read_back_and_stored_when_confirmed(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """A reply Twilio doubts is read back; once confirmed the reply itself is stored."""
    result = call(
        simulator, survey_url, status_url, [Speak("eight", confidence=0.2), Press("1"), HangUp()]
    )
    assert "I heard 8. Press 1 if that's right" in heard(result)
    nps = session_for(result).answer_for("nps")
    assert nps is not None and nps.value == 8
    assert (nps.speech, nps.confidence, nps.digits) == ("eight", 0.2, None)


def test_low_confidence_reply_denied_is_asked_again(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """ "No" to the read-back asks the question again; the doubtful value is never kept."""
    result = call(
        simulator,
        survey_url,
        status_url,
        [Speak("eight", confidence=0.2), Speak("no"), Press("6#"), HangUp()],
    )
    assert "Sorry about that. On a scale from 0 to 10" in heard(result)
    nps = session_for(result).answer_for("nps")
    assert nps is not None and (nps.value, nps.attempts) == (6, 2)


def test_confidence_threshold_is_configurable(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Below SPEECH_CONFIDENCE_THRESHOLD a reply is read back; above it, it is taken."""
    monkeypatch.setitem(app.config, "SPEECH_CONFIDENCE_THRESHOLD", 0.1)
    result = call(simulator, survey_url, status_url, [Speak("eight", confidence=0.2), HangUp()])
    assert "I heard" not in heard(result)
    assert answers(session_for(result)) == {"nps": 8}


def test_low_confidence_yes_to_recording_is_asked_again(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """No recording on a "yes" Twilio doubts: the disclosure is asked again."""
    result = call(
        simulator,
        survey_url,
        status_url,
        [Press("9#"), Press("4"), Press("1"), Speak("yes", confidence=0.1), Press("2"), Press("2")],
    )
    session = session_for(result)
    assert heard(result).count("This part of the call will be recorded") == 2
    assert session.consent_recording is False and result.recordings == []


def test_spoken_opt_out_at_the_disclosure_is_confirmed_too(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """Declining the read-back at the recording disclosure asks for consent again."""
    result = call(
        simulator,
        survey_url,
        status_url,
        [Press("9#"), Press("4"), Press("1"), Speak("don't call me again"), Press("2"), HangUp()],
    )
    assert OPT_OUT_CHECK in heard(result)
    assert heard(result).count("This part of the call will be recorded") == 2
    assert session_for(result).opted_out is False


def test_read_back_twiml_gathers_one_key_or_speech(app: Flask, client: Any) -> None:
    """The read-back is a Gather posting to step=check with what was heard in its URL."""
    start = {"CallSid": "CA" + "1" * 32, "From": CUSTOMER, "To": COMPANY_NUMBER}
    twilio_post(client, app, "/twilio/voice/survey", start)
    reply = {**start, "SpeechResult": "seven", "Confidence": "0.3"}
    response = twilio_post(client, app, "/twilio/voice/survey?step=q&try=1&n=0", reply)
    root = ET.fromstring(response.get_data(as_text=True))  # noqa: S314 - our own TwiML
    gather = root.find("Gather")
    assert gather is not None
    assert (gather.get("input"), gather.get("numDigits")) == ("dtmf speech", "1")
    query = parse_qs(urlsplit(gather.get("action", "")).query)
    assert query["step"] == ["check"] and query["v"] == ["7"] and query["heard"] == ["seven"]
    assert "I heard 7." in (gather.findtext("Say") or "")


def test_opt_out_read_back_twiml(app: Flask, client: Any) -> None:
    """A spoken opt-out returns a Gather to step=optout that remembers the question."""
    start = {"CallSid": "CA" + "2" * 32, "From": CUSTOMER, "To": COMPANY_NUMBER}
    twilio_post(client, app, "/twilio/voice/survey", start)
    reply = {**start, "SpeechResult": "Please take me off your list.", "Confidence": "0.9"}
    response = twilio_post(client, app, "/twilio/voice/survey?step=q&try=1&n=1", reply)
    root = ET.fromstring(response.get_data(as_text=True))  # noqa: S314 - our own TwiML
    gather = root.find("Gather")
    assert gather is not None and gather.findtext("Say") == OPT_OUT_CHECK
    query = parse_qs(urlsplit(gather.get("action", "")).query)
    assert (query["step"], query["back"], query["n"]) == (["optout"], ["q"], ["1"])
    assert root.find("Hangup") is None


def test_declining_consent_records_nothing_and_goes_on(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str, fake_twilio: Any
) -> None:
    """Saying no to the recording disclosure skips the comment, not the rest of the survey."""
    result = call(
        simulator,
        survey_url,
        status_url,
        [
            Press("10#"),
            Press("5"),
            Press("1"),
            Press("2"),
            Press("1"),
            Press("1"),
            Press("2"),
        ],
    )
    session = session_for(result)
    assert session.consent_recording is False
    assert session.recordings == [] and result.recordings == []
    assert "won't record anything" in heard(result)
    assert session.wants_callback is True
    assert session.callback_preference == "later_today"


def test_caller_can_give_another_callback_number(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """A different number is read back, confirmed, stored on the session and the contact."""
    result = call(
        simulator,
        survey_url,
        status_url,
        [
            Press("3#"),
            Press("1"),
            Press("2"),
            Press("2"),
            Press("1"),
            Press("2"),
            Press("4155550199#"),
            Press("1"),
            Press("3"),
        ],
    )
    session = session_for(result)
    assert "You entered 4 1 5, 5 5 5, 0 1 9 9." in heard(result)
    assert session.callback_number == "+14155550199"
    assert session.callback_preference == "tomorrow"
    assert session.contact is not None and session.contact.callback_phone == "+14155550199"


def test_hanging_up_mid_survey_keeps_answers_as_partial(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """Answers given before a hang-up are kept and the session is marked partial."""
    result = call(simulator, survey_url, status_url, [Press("7#"), Press("2"), HangUp()])
    session = session_for(result)
    assert answers(session) == {"nps": 7, "csat": 2}
    assert session.outcome is SurveyOutcome.PARTIAL
    assert session.ended_at is not None


def test_recording_is_downloaded_by_the_worker(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
) -> None:
    """The recording callback queues one job; the worker fetches the media with basic auth."""
    result = call(
        simulator,
        survey_url,
        status_url,
        [
            Press("2#"),
            Press("1"),
            Press("2"),
            Press("1"),
            RecordAudio(COMMENT),
            Press("2"),
        ],
    )
    assert worker.queued() == 1
    worker.run()
    db.session.expire_all()
    rec = db.session.scalar(db.select(Recording))
    assert rec is not None and rec.recording_sid == result.recordings[0].sid
    assert rec.status is not RecordingStatus.PENDING and rec.status is not RecordingStatus.FAILED
    assert rec.local_path is not None
    assert Path(rec.local_path).read_bytes() == COMMENT
