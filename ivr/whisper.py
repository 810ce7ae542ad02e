"""The warm transfer's whisper: what the agent hears before the caller is put through.

The transfer is ``<Dial><Number url="/twilio/voice/whisper?session=…">``: Twilio plays the
TwiML at that URL to the agent who answers, then bridges the two. The agent hears the
scores given so far and the caller's own words (spoken answers, and the request for a
person), so nobody has to ask the caller to start again.

What the caller said when asking for a person is not stored as an answer; it is kept in
Redis for ``SAID_SECONDS``, long enough for the agent's phone to ring, and never reaches the
database or the audit log (so "delete this caller's data" has nothing to find).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from redis.exceptions import RedisError
from twilio.twiml.voice_response import VoiceResponse

from core import quotes
from core.db import db
from core.models import CallSession, QuestionKind
from core.redis_client import get_redis
from core.twilio_params import BadParameter, clean_args, db_id, shown

log = logging.getLogger(__name__)

PATH = "/twilio/voice/whisper"
SAID_SECONDS = 300
SAID_WORDS = 25  # per utterance: the agent hears it in one breath
UTTERANCES = 2  # the latest ones; older answers are in the scores
FALLBACK = "A survey caller asked to speak with a person. Connecting you now."


def url(session_id: int) -> str:
    return f"{PATH}?session={session_id}"


def session_arg(args: Mapping[str, str]) -> int:
    """The session ``url`` named (a well-formed id may still name no session).

    Raises:
        BadParameter: a query we never give Twilio (no id, not a positive 32-bit id, or
            not a parameter of our URLs): the client's fault, not a failure of ours.
    """
    given = clean_args(args).get("session", "")
    # isdecimal and isascii: "²" or "٣" are digits to str.isdigit, not ids of ours.
    if not (given.isascii() and given.isdecimal()) or len(given) > 10 or not db_id(int(given)):
        raise BadParameter("session", f"must be a call session id, not {shown(given)}")
    return int(given)


def _key(session_id: int) -> str:
    return f"whisper:said:{session_id}"


def remember(session_id: int, speech: str) -> None:
    """Keep what the caller said when asking for a person, for the whisper only."""
    if not speech:
        return
    try:
        get_redis().set(_key(session_id), speech[:1000], ex=SAID_SECONDS)
    except RedisError:  # the whisper then gives the scores alone
        log.warning("could not keep the request of session %s for the whisper", session_id)


def _recall(session_id: int) -> str | None:
    try:
        said = get_redis().get(_key(session_id))
    except RedisError:
        return None
    return said.decode() if isinstance(said, bytes) else said


def _score(kind: QuestionKind, key: str, value: int) -> str:
    if kind is QuestionKind.NPS:
        return f"{value} out of 10 for recommending us"
    if kind is QuestionKind.CSAT:
        return f"{value} out of 5 for satisfaction"
    return f"{key.replace('_', ' ')}: {'yes' if value else 'no'}"


def text(session: CallSession) -> str:
    """One short paragraph for the agent: scores, then the caller's latest words."""
    scores = [
        _score(a.question.kind, a.question.key, a.value)
        for a in session.answers
        if a.value is not None
    ]
    said = [a.speech for a in session.answers if a.speech]
    request = _recall(session.id)
    if request and request not in said:
        said.append(request)
    parts = ["Survey caller for you, asking for a person."]
    parts.append(f"They gave {'; '.join(scores)}." if scores else "No scores given yet.")
    for utterance in said[-UTTERANCES:]:
        parts.append(f"They said: {quotes.trim(utterance, SAID_WORDS)}.")
    parts.append("Connecting you now.")
    return " ".join(parts)


def twiml(session_id: int | None) -> VoiceResponse:
    """The whisper for ``session_id``; a short generic one when the call is unknown."""
    session = db.session.get(CallSession, session_id) if session_id else None
    response = VoiceResponse()
    if session is None or session.survey_version is None:
        response.say(FALLBACK)
        return response
    version = session.survey_version
    response.say(text(session), voice=version.voice, language=version.language)
    return response


def fallback() -> VoiceResponse:
    """Said when building the whisper failed: the agent is still put through."""
    response = VoiceResponse()
    response.say(FALLBACK)
    return response
