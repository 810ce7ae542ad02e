"""One webhook turn of the voice survey: the caller's input, the reply being built, and
the URL of each step."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from twilio.twiml.voice_response import Gather, VoiceResponse

from core.db import db
from core.models import (
    CallSession,
    SurveyOutcome,
    SurveyVersion,
)
from ivr import lifecycle

log = logging.getLogger(__name__)

SURVEY_PATH = "/twilio/voice/survey"
RECORDING_CALLBACK_PATH = "/twilio/voice/recording"
MAX_TRIES = 3  # the first ask plus two reprompts, then the question is skipped


@dataclass(frozen=True)
class CallInput:
    """What one Twilio voice request tells us."""

    call_sid: str
    from_number: str
    to_number: str
    direction: str = "inbound"
    digits: str = ""
    speech: str = ""
    confidence: float | None = None
    args: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str] = field(default_factory=dict)

    @property
    def step(self) -> str:
        return self.args.get("step", "start")

    @property
    def tries(self) -> int:
        try:
            return max(1, int(self.args.get("try", "1")))
        except ValueError:
            return 1

    @property
    def empty(self) -> bool:
        return not self.digits and not self.speech


def step_url(step: str, params: Mapping[str, object] | None = None) -> str:
    query = {"step": step, **{k: str(v) for k, v in (params or {}).items()}}
    return f"{SURVEY_PATH}?{urlencode(query)}"


@dataclass
class Turn:
    """One request being answered: the session, the caller's input and the reply."""

    session: CallSession
    inp: CallInput
    response: VoiceResponse = field(default_factory=VoiceResponse)

    @property
    def version(self) -> SurveyVersion:
        assert self.session.survey_version is not None
        return self.session.survey_version

    def say(self, text: str, target: VoiceResponse | Gather | None = None) -> None:
        (target or self.response).say(
            text, voice=self.version.voice, language=self.version.language
        )

    def gather(
        self,
        prompt: str,
        step: str,
        *,
        dtmf_only: bool = False,
        num_digits: int | None = None,
        finish_on_key: str | None = None,
        hints: str | None = None,
        timeout: int = 5,
        tries: int = 1,
        params: Mapping[str, object] | None = None,
    ) -> None:
        """Ask a question; an empty reply still comes back to us so we can count tries."""
        if tries > 1:
            prompt = f"Sorry, I didn't catch that. {prompt}"
        gather = self.response.gather(
            input="dtmf" if dtmf_only else "dtmf speech",
            action=step_url(step, {"try": tries, **(params or {})}),
            method="POST",
            timeout=timeout,
            num_digits=num_digits,
            finish_on_key=finish_on_key,
            hints=hints,
            language=self.version.language,
            speech_timeout="auto",
            action_on_empty_result=True,
        )
        self.say(prompt, gather)

    def hangup(self, text: str | None = None) -> VoiceResponse:
        if text:
            self.say(text)
        self.response.hangup()
        return self.response


def finish(turn: Turn, extra: str | None = None) -> VoiceResponse:
    if turn.session.outcome is SurveyOutcome.IN_PROGRESS:
        turn.session.outcome = SurveyOutcome.COMPLETED
    if extra:
        turn.say(extra)
    db.session.commit()
    lifecycle.survey_finished(turn.session)
    return turn.hangup(turn.version.goodbye)
