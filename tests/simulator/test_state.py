"""A call saved as JSON between turns and resumed carries on exactly as if never paused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from simulator.actions import Action, Press, RecordAudio, Silent, Speak
from simulator.audio import tone_wav
from simulator.caller import CallerSimulator, CallResult, Turn
from simulator.state import CallState
from tests.simulator.conftest import ACCOUNT_SID, AUTH_TOKEN, CALLER, SURVEY_NUMBER
from tests.simulator.twiml_app import Received, TwimlApp, twiml

SID = "CA" + "5" * 32
STARTED = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
SURVEY = {  # relative URLs under /survey/ resolve against the current document
    "/voice": twiml(
        "<Say>Welcome</Say>",
        '<Gather numDigits="1" action="survey/q2"><Say>Score from 0 to 9?</Say></Gather>',
        "<Say>We did not get that</Say>",
        "<Pause/><Say>Goodbye</Say>",
    ),
    "/survey/q2": twiml(
        '<Gather input="speech" hints="good,bad" action="q3"><Say>Why?</Say></Gather>'
    ),
    "/survey/q3": twiml(
        "<Say>Leave a comment after the tone</Say><Play>tone.mp3</Play>",
        '<Record action="done" maxLength="30" recordingStatusCallback="rec"'
        ' recordingStatusCallbackEvent="in-progress completed"/>',
        "<Say>No comment then</Say>",
    ),
    "/survey/done": twiml(
        '<Gather numDigits="1" action="bye"><Say>Press 1 to confirm</Say></Gather>',
        "<Say>Unconfirmed</Say>",
    ),
    "/survey/bye": twiml("<Say>Thank you</Say><Hangup/>"),
}
SCRIPTS = {
    "full survey": [Press("7"), Speak("good service"), RecordAudio(tone_wav(2.0)), Press("1")],
    "silence falls through": [Silent()],
    "no comment": [Press("3"), Speak("bad"), Silent()],
}


class NumberedSink:
    """A recording sink with predictable SIDs, so two runs can be compared."""

    def __init__(self) -> None:
        self.stored = 0

    def store(self, account_sid: str, call_sid: str, wav: bytes) -> tuple[str, str, int]:
        self.stored += 1
        sid = f"RE{self.stored:032d}"
        return sid, f"https://recordings.test/{sid}", 3


def plain_simulator() -> CallerSimulator:
    """A simulator with default settings."""
    return CallerSimulator(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, recordings=NumberedSink()
    )


def round_trip(state: CallState) -> CallState:
    """The state as it comes back after being stored as JSON text."""
    return CallState.from_json(json.loads(json.dumps(state.to_json())))


def drive(
    app_url: str, actions: list[Action], *, reorder: bool, pause: bool
) -> tuple[list[Turn], CallResult]:
    """Run the survey call; with ``pause``, save it to JSON and resume it before each turn."""
    sink = NumberedSink()

    def simulator() -> CallerSimulator:
        return CallerSimulator(
            account_sid=ACCOUNT_SID,
            auth_token=AUTH_TOKEN,
            recordings=sink,
            reorder_callbacks=reorder,
        )

    call = simulator().call(
        f"{app_url}/voice",
        from_=CALLER,
        to=SURVEY_NUMBER,
        call_sid=SID,
        status_callback=f"{app_url}/status",
        status_events=("initiated", "ringing", "answered", "completed"),
    )
    call.started_at = STARTED  # callback timestamps count from here
    turns = [call.start()]
    for action in actions:
        if turns[-1].ended:
            break
        if pause:
            call = simulator().resume(round_trip(call.state()))
        turns.append(call.respond(action))
    return turns, call.result()


@pytest.mark.parametrize("reorder", [False, True], ids=["in order", "reordered callbacks"])
@pytest.mark.parametrize("script", SCRIPTS.values(), ids=SCRIPTS.keys())
def test_resumed_call_continues_like_an_uninterrupted_one(
    twiml_app: TwimlApp, app_url: str, script: list[Action], reorder: bool
) -> None:
    """Saved to JSON and resumed at every turn, a call hears and sends exactly the same."""
    twiml_app.documents.update(SURVEY)
    straight = drive(app_url, script, reorder=reorder, pause=False)
    sent_straight: list[Received] = list(twiml_app.received)
    twiml_app.received.clear()
    resumed = drive(app_url, script, reorder=reorder, pause=True)
    assert resumed == straight
    assert twiml_app.received == sent_straight
    turns, result = straight
    assert turns[-1].ended and result.status == "completed" and len(sent_straight) > 3


def test_finished_call_resumes_finished(twiml_app: TwimlApp, app_url: str) -> None:
    """A call that ended (rejected, after an error) resumes ended, with the same result."""
    twiml_app.documents["/voice"] = twiml("<Dance/>", '<Reject reason="busy"/>')
    simulator = plain_simulator()
    call = simulator.call(
        f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER, status_callback=f"{app_url}/status"
    )
    call.start()
    resumed = simulator.resume(round_trip(call.state()))
    turn = resumed.respond(Press("1"))
    assert (turn.ended, turn.said) == (True, [])
    assert resumed.result() == call.result()
    assert (call.result().status, call.result().duration) == ("busy", 0)
    assert twiml_app.paths() == ["/voice", "/status"]


def test_pending_redirect_is_applied_after_resuming(twiml_app: TwimlApp, app_url: str) -> None:
    """A REST redirect that arrived before the call was saved is applied once resumed."""
    twiml_app.documents.update(SURVEY)
    twiml_app.documents["/moved"] = twiml("<Say>Moved</Say>")
    simulator = plain_simulator()
    call = simulator.call(f"{app_url}/voice", from_=CALLER, to=SURVEY_NUMBER)
    call.start()
    call.interrupt(redirect_url=f"{app_url}/moved")
    turn = simulator.resume(round_trip(call.state())).respond(Press("1"))
    assert (turn.said, turn.ended) == (["Moved"], True)
    assert twiml_app.paths() == ["/voice", "/moved"]


@pytest.mark.parametrize("data", [{}, {"format": 0}, {"format": 1}, {"format": 1, "setup": 7}])
def test_foreign_data_is_not_a_call_state(data: dict[str, object]) -> None:
    """Data of another format or shape is refused with ValueError."""
    with pytest.raises(ValueError):
        CallState.from_json(data)
