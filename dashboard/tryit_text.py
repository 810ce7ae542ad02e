"""Try a survey by text in the browser: the text survey's own reading, without a phone.

The page shows the first text and sends each reply typed; replies go through
``texts.inbound.receive`` exactly as a text arriving at ``/twilio/sms`` does (keywords,
the answer reader, the comment reader), from the fictional try-it number
(``dashboard.tryit.TRY_CALLER``). Nothing is texted: the survey's texts are shown in the
page. Sessions are test sessions (``is_test``): no callback, kept out of trends.
"""

from __future__ import annotations

import uuid
from typing import Any

from core.db import db, utcnow
from core.models import CallSession, Survey, SurveyOutcome
from dashboard.tryit import TRY_CALLER, ready_try_caller
from texts import conversations, inbound, survey, wording

MAX_REPLY = 1600  # one text


def start(chosen: Survey) -> dict[str, Any]:
    """Open a test text survey; returns its first text."""
    assert chosen.active_version is not None
    ready_try_caller()
    session = survey.begin_trial(TRY_CALLER, chosen.active_version)
    return {
        "session_id": session.id,
        "texts": [wording.opening(chosen.active_version)],
        "ended": False,
    }


def reply(session_id: int, text: str) -> dict[str, Any] | None:
    """Text ``text`` into the test survey; None when it is not the open try-it survey."""
    session = db.session.get(CallSession, session_id)
    if session is None or not session.is_test or session.channel != survey.CHANNEL:
        return None
    open_now = conversations.open_for(TRY_CALLER, utcnow())
    if not open_now or open_now[0].session_id != session_id:
        return None
    params = {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "From": TRY_CALLER,
        "To": session.from_number,
        "Body": text[:MAX_REPLY],
    }
    texts = inbound.receive(params)
    db.session.expire_all()
    finished = db.session.get(CallSession, session_id)
    ended = finished is None or finished.outcome is not SurveyOutcome.IN_PROGRESS
    return {"session_id": session_id, "texts": texts, "ended": ended}
