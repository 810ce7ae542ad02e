"""One webhook turn of the voice survey: the caller's input, the reply being built, and
the URL of each step."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from flask import current_app
from twilio.twiml.voice_response import Gather, VoiceResponse

from core import survey_cache
from core.models import CallSession
from core.survey_cache import VersionSnapshot
from ivr import lifecycle

log = logging.getLogger(__name__)

SURVEY_PATH = "/twilio/voice/survey"
RECORDING_CALLBACK_PATH = "/twilio/voice/recording"
MAX_TRIES = 3  # the first ask plus two reprompts, then the question is skipped
REPROMPT = "Sorry, I didn't catch that."
# Twilio's speech Confidence (0.0-1.0) below which a reply is read back or asked again.
# 0.4: on phone audio most misheard replies land below it and few clear ones do.
CONFIDENCE_SETTING = "SPEECH_CONFIDENCE_THRESHOLD"
DEFAULT_CONFIDENCE_THRESHOLD = 0.4


def confidence_threshold() -> float:
    """The app's threshold, else the environment's (core.config does not list it yet)."""
    value = current_app.config.get(CONFIDENCE_SETTING) or os.environ.get(CONFIDENCE_SETTING)
    return DEFAULT_CONFIDENCE_THRESHOLD if value in (None, "") else float(value)


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

    @property
    def spoken(self) -> bool:
        return bool(self.speech) and not self.digits

    def unsure(self, threshold: float) -> bool:
        """Speech Twilio itself doubts; a reply without a Confidence is taken as heard."""
        return self.spoken and self.confidence is not None and self.confidence < threshold


def step_url(step: str, params: Mapping[str, object] | None = None) -> str:
    query = {"step": step, **{k: str(v) for k, v in (params or {}).items()}}
    return f"{SURVEY_PATH}?{urlencode(query)}"


@dataclass
class Turn:
    """One request being answered: the session, the caller's input and the reply."""

    session: CallSession
    inp: CallInput
    response: VoiceResponse = field(default_factory=VoiceResponse)
    # Said before the next question instead of the reprompt apology, when the caller is
    # brought back to a question for another reason ("No problem, let's carry on.").
    lead: str | None = None
    # Set by ``finish``: the callback rules hear of it once the turn has committed.
    finished: bool = False
    # Set when the turn stores what the callback rules read (an answer, a person asked
    # for): a hang-up may have told them before it was committed (lifecycle.answered).
    answered: bool = False

    @property
    def unsure(self) -> bool:
        """The caller spoke and Twilio's confidence is below the threshold."""
        return self.inp.unsure(confidence_threshold())

    @property
    def version(self) -> VersionSnapshot:
        """The pinned version from the process cache: no query, no lazy load per turn."""
        version_id = self.session.survey_version_id
        if version_id is None:  # pinned in this request, not flushed yet: already loaded
            assert self.session.survey_version is not None
            version_id = self.session.survey_version.id
        return survey_cache.version(version_id)

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
        lead = self.lead if self.lead is not None else REPROMPT if tries > 1 else ""
        prompt = f"{lead} {prompt}".strip()
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
    # handle() commits once, then tells the callback rules if this turn ended the survey.
    turn.finished = lifecycle.complete_survey(turn.session)
    if extra:
        turn.say(extra)
    return turn.hangup(turn.version.goodbye)
