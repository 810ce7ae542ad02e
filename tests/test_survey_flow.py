"""End to end through the caller simulator: the survey as a caller experiences it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from core.db import db
from core.models import CallSession, Contact, Recording, RecordingStatus, SurveyOutcome
from simulator.actions import HangUp, Press, RecordAudio, Silent, Speak
from simulator.audio import tone_wav
from simulator.caller import CallerSimulator, CallResult
from tests.conftest import COMPANY_NUMBER, CUSTOMER, Worker


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
    monkeypatch.setitem(app.config, "TRANSFER_HOURS", "00:00-23:59")
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


@pytest.mark.parametrize(
    "actions",
    [
        [Press("6#"), Press("9")],
        [Speak("stop calling me")],
    ],
    ids=["key-9", "voice-stop"],
)
def test_opt_out_is_immediate_and_blocks_future_survey_calls(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    client: Any,
    actions: list[Any],
) -> None:
    """Opting out by key or voice is confirmed, then the API refuses to call the number."""
    result = call(simulator, survey_url, status_url, actions)
    assert "removed from all future surveys" in heard(result)
    contact = db.session.scalar(db.select(Contact).where(Contact.phone == CUSTOMER))
    assert contact is not None and contact.opted_out_at is not None
    response = client.post(
        "/api/surveys/calls",
        json={"to": CUSTOMER},
        headers={"Authorization": "Bearer test-api-token"},
    )
    assert response.status_code == 409
    assert response.get_json()["error"] == "opted_out"
    again = call(simulator, survey_url, status_url, [Press("5#")])
    assert "asked not to receive surveys" in heard(again)


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
