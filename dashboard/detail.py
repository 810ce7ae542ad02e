"""The one-screen story of a flagged call: highlighted transcript and a timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape

from callbacks import links
from core.db import db
from core.models import CallSession, Event, QuestionKind, Recording, User
from dashboard import flags
from transcription import highlight as highlighter
from transcription.analysis import CommentAnalysis


def highlight(recording: Recording) -> Markup:
    """The transcript with each flagged phrase wrapped in ``<mark>`` naming its labels."""
    text = recording.transcript or ""
    raw = recording.analysis
    if raw and (not text or raw.get("text") == text):  # spans only fit their own text
        pieces = highlighter.highlight(CommentAnalysis.from_dict(raw))
    else:
        pieces = highlighter.segments(text, ())
    out: list[str] = []
    for piece in pieces:
        if not piece.labels:
            out.append(str(escape(piece.text)))
            continue
        title = ", ".join(
            flags.REASONS.get(flags.ANALYSIS_REASONS.get(n, ""), n) for n in piece.labels
        )
        classes = " ".join(f"flag-{n}" for n in piece.labels)
        out.append(f'<mark class="{classes}" title="{escape(title)}">{escape(piece.text)}</mark>')
    return Markup("".join(out))  # noqa: S704 - every piece above is escaped


@dataclass
class Step:
    """One entry of the timeline."""

    at: datetime | None
    kind: str
    title: str
    detail: str = ""


def timeline(session: CallSession, callback: links.TaskSummary | None) -> list[Step]:
    """Call → answers → recording → transcript → callback task → attempts → outcome."""
    steps: list[Step] = [
        Step(
            session.answered_at or session.created_at,
            "call",
            "Call answered",
            f"{session.direction}, {session.status.value}, survey {session.outcome.value}",
        )
    ]
    for answer in session.answers:
        value = "skipped" if answer.value is None else str(answer.value)
        if answer.value is not None and answer.question.kind is QuestionKind.YES_NO:
            value = "yes" if answer.value else "no"
        how = f"said “{answer.speech}”" if answer.speech else f"pressed {answer.digits or '-'}"
        steps.append(
            Step(answer.created_at, "answer", f"Answered {answer.question.key}: {value}", how)
        )
    if session.asked_for_human:
        steps.append(Step(None, "flag", "Asked for a person"))
    if session.opted_out:
        steps.append(Step(None, "flag", "Opted out of surveys"))
    for rec in session.recordings:
        length = f"{rec.duration_seconds}s" if rec.duration_seconds is not None else ""
        steps.append(Step(rec.created_at, "recording", "Comment recorded", length))
        if rec.transcript:
            labels = ", ".join(
                flags.REASONS[flags.ANALYSIS_REASONS[name]]
                for name in flags.flagged_labels(rec.analysis)
                if name in flags.ANALYSIS_REASONS
            )
            labels = labels or "nothing flagged"
            steps.append(Step(rec.updated_at, "transcript", "Transcribed and read", labels))
        if rec.status.value == "deleted":
            steps.append(Step(rec.updated_at, "deleted", "Audio deleted"))
        elif rec.status.value == "failed":
            steps.append(
                Step(rec.updated_at, "failed", "Recording failed", rec.failure_reason or "")
            )
    if session.ended_at:
        steps.append(
            Step(session.ended_at, "call", "Call ended", f"{session.duration_seconds or 0}s")
        )
    if callback is not None:
        reasons = ", ".join(r.detail or r.code for r in callback.reasons)
        steps.append(
            Step(
                callback.created_at, "task", f"Callback task opened ({callback.priority})", reasons
            )
        )
        for attempt in callback.attempts:
            steps.append(
                Step(
                    attempt.created_at,
                    "attempt",
                    f"Callback attempt: {attempt.status}",
                    attempt.outcome or "",
                )
            )
        if callback.closed_at or callback.outcome:
            # A reopened task keeps the agent's outcome; the follow-up says why it reopened.
            state = "outcome" if callback.state == "reopened" else callback.state
            steps.append(
                Step(
                    callback.closed_at,
                    "outcome",
                    f"Callback {state}: {callback.outcome or 'no outcome'}",
                    callback.notes or "",
                )
            )
        steps.extend(follow_up_steps(callback))
    else:
        why = " (test call)" if session.is_test else ""
        steps.append(Step(None, "task", f"No callback task{why}"))
    # Undated steps (flags) keep their place after the step before them.
    keyed: list[tuple[datetime, int, Step]] = []
    last = session.created_at
    for index, step in enumerate(steps):
        last = step.at or last
        keyed.append((last, index, step))
    return [step for _, _, step in sorted(keyed, key=lambda k: (k[0], k[1]))]


CHANNEL_WORDS = {"sms": "by text", "voice": "by phone"}


def follow_up_steps(callback: links.TaskSummary) -> list[Step]:
    """The "did we put it right?" follow-up: when it was due or sent, and the reply."""
    follow_up = callback.follow_up
    if follow_up is None:
        return []
    how = CHANNEL_WORDS.get(follow_up.channel or "", "")
    if follow_up.status == "scheduled":
        return [Step(follow_up.due_at, "followup", "Follow-up scheduled", "not sent before")]
    if follow_up.status in ("skipped", "failed"):
        return [Step(follow_up.due_at, "failed", "Follow-up not sent", follow_up.reason or "")]
    steps = [Step(follow_up.sent_at or follow_up.due_at, "followup", f"Follow-up sent {how}")]
    if follow_up.status == "unanswered":
        steps.append(Step(None, "followup", "Follow-up call not answered", follow_up.reason or ""))
    if follow_up.score is not None:
        verdict = (
            "recovered: we put it right"
            if follow_up.recovered
            else "not put right: reopened for a supervisor"
        )
        steps.append(
            Step(
                follow_up.answered_at,
                "recovered" if follow_up.recovered else "flag",
                f"Follow-up reply: {follow_up.score} of 5 {how}",
                verdict,
            )
        )
    return steps


def audit_trail(session: CallSession, limit: int = 20) -> list[dict[str, Any]]:
    """Recent plays, downloads and deletions of this call's recordings, with who did it."""
    rows = db.session.execute(
        db.select(Event, User.email)
        .outerjoin(User, Event.user_id == User.id)
        .where(Event.session_id == session.id)
        .where(Event.kind.in_(["recording.played", "recording.downloaded", "recording.deleted"]))
        .order_by(Event.at.desc())
        .limit(limit)
    ).all()
    return [{"at": e.at, "kind": e.kind, "who": email or "system"} for e, email in rows]
