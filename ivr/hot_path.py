"""The two turns every caller takes, in a few SQL statements each.

A known caller's survey start and a plain answer to a question (a score, no request for a
person, nothing to read back) are most of the webhook traffic. ``ivr.fast_lane`` asks here
first, before Flask. Each turn runs fixed Core statements, compiled once and executed on a
DBAPI connection of its own (``core.prepared``; on PostgreSQL one per thread kept between
turns, without a ping, the turn run again if its connection was found dead): the start
is one INSERT .. SELECT (version, contact and session row at once) committed by itself,
the answer one read and its writes then one commit. The reply is built by the flow's own
functions (``survey.start``, ``survey.ask_question``) and kept per survey version, since it
depends on nothing else. Any other case — a CallSid already seen, a first-time or opted-out
caller, a survey without an active version, a reply the flow must think about — returns
None having written nothing, and the full flow (``survey.handle``) serves it as before, so
behaviour is that flow's. On SQLite the connection queues on the file's write gate
(``core.write_gate``) at its first write and leaves it at the commit; nothing slow runs
between them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from threading import Lock
from typing import TypeVar

from flask import current_app
from sqlalchemy import Dialect, PoolProxiedConnection, Table, bindparam, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPICursor

from callbacks import verdicts
from core import survey_cache
from core.db import held_connections, unpinged_engine, utcnow
from core.models import (
    Answer,
    CallSession,
    CallStatus,
    Contact,
    Question,
    Survey,
    SurveyOutcome,
)
from core.prepared import Prepared, run
from core.survey_cache import VersionSnapshot
from ivr import lifecycle, sessions, survey
from ivr.turn import CallInput, Turn, confidence_threshold
from replies.answers import read_reply

SESSIONS: Table = CallSession.__table__
ANSWERS: Table = Answer.__table__
T = TypeVar("T")

# The session row a known caller's first turn gets, in one statement: the survey's active
# version pinned, the contact, in progress. No row when the survey has no active version
# or one without questions, the caller is new or opted out, or the CallSid is known (ON
# CONFLICT below). One statement commits by itself: no BEGIN and COMMIT round trips.
_GIVEN = (
    "call_sid", "from_number", "to_number", "direction",
    "status", "outcome", "step", "created_at", "answered_at",
)  # fmt: skip
START_SELECT = (
    select(
        *[bindparam(name, type_=CallSession.__table__.c[name].type) for name in _GIVEN],
        Survey.active_version_id,
        Contact.id,
    )
    .select_from(Survey)
    .join(Contact, Contact.phone == bindparam("phone"))
    .where(
        Survey.slug == bindparam("slug"),
        Survey.active_version_id.is_not(None),
        exists().where(Question.version_id == Survey.active_version_id),
        Contact.opted_out_at.is_(None),
    )
)
# The call's session and whether its contact opted out, in one read.
ANSWER_READ = (
    select(
        CallSession.id,
        CallSession.survey_version_id,
        CallSession.contact_id,
        CallSession.status,
        CallSession.outcome,
        CallSession.answered_at,
        CallSession.step,
        Contact.opted_out_at,
    )
    .outerjoin(Contact, Contact.id == CallSession.contact_id)
    .where(CallSession.call_sid == bindparam("call_sid"))
)
# The step's UPDATE; parameters named apart from the columns they are compared with.
STEP_WRITE = (
    update(SESSIONS).where(SESSIONS.c.id == bindparam("session_id")).values(step=bindparam("to"))
)
# SQLite: the survey's state is known before the commit; marked only when the rules were told.
OWED_AT = bindparam("owed_at", type_=SESSIONS.c.retell_owed_at.type)
OWED_WRITE = (
    update(SESSIONS).where(SESSIONS.c.id == bindparam("session_id")).values(retell_owed_at=OWED_AT)
)
_ANSWER_COLUMNS = [c.name for c in ANSWERS.columns if c.name != "id"]
_SURVEY_STATE = [
    select(column).where(SESSIONS.c.id == bindparam("session_id")).scalar_subquery()
    for column in (SESSIONS.c.outcome, SESSIONS.c.status)
]


@cache
def _statement(dialect: Dialect, name: str) -> Prepared:
    """The hot path's statement ``name`` for this dialect, compiled once (``core.prepared``).

    Inserts are INSERT .. ON CONFLICT DO NOTHING: the unique constraint decides, no SELECT.
    """
    insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    if name == "start":
        columns = [*_GIVEN, "survey_version_id", "contact_id"]
        started = insert(SESSIONS).from_select(columns, START_SELECT).on_conflict_do_nothing()
        return Prepared.compile(started.returning(SESSIONS.c.survey_version_id), dialect)
    if name == "read":
        return Prepared.compile(ANSWER_READ, dialect)
    if name == "step":
        return Prepared.compile(STEP_WRITE, dialect)
    # PostgreSQL's "answer and step": the answer's INSERT inside the step's UPDATE (WITH),
    # its parameters named apart from the UPDATE's.
    prefix = "answer_" if name == "answer and step" else ""
    values = {c: bindparam(prefix + c, type_=ANSWERS.c[c].type) for c in _ANSWER_COLUMNS}
    answer = insert(ANSWERS).values(values).on_conflict_do_nothing()
    if name == "answer":
        # SQLite: the survey's state as written when the answer is stored (see _store).
        return Prepared.compile(answer.returning(*_SURVEY_STATE), dialect)
    if name == "owed":
        return Prepared.compile(OWED_WRITE, dialect)
    # The mark for a retelling rides on the step's UPDATE (see _store).
    step = STEP_WRITE.values(retell_owed_at=verdicts.owe(OWED_AT))
    step = step.returning(SESSIONS.c.outcome, SESSIONS.c.status)
    return Prepared.compile(step.add_cte(answer.cte("answer")), dialect)


_replies: dict[tuple[int, str, int], tuple[VersionSnapshot, str]] = {}
_lock = Lock()


def _reply(
    version: VersionSnapshot, step: str, position: int, build: Callable[[Turn], object]
) -> str:
    """The TwiML ``build`` gives a fresh turn on this version, built once per process.

    Keyed by the snapshot itself (held here, compared by identity), so a cleared version
    cache (tests reuse ids) is never answered with an old reply.
    """
    key = (version.id, step, position)
    cached = _replies.get(key)
    if cached is not None and cached[0] is version:
        return cached[1]
    session = CallSession(survey_version_id=version.id)  # never added to the db session
    turn = Turn(session, CallInput(call_sid="", from_number="", to_number=""))
    text = str(build(turn))
    with _lock:
        _replies[key] = (version, text)
    return text


def start_new_call(inp: CallInput) -> str | None:
    """A known caller's new CallSid: the session row inserted with everything the full flow
    would give it (version pinned, contact, in progress) in one statement, then one commit."""
    if inp.step != "start" or lifecycle.call_is_over(inp.form):
        return None
    # Not the ORM session: nothing to track or flush. Safe to run again on a new connection
    # (``core.prepared.run``): a second INSERT of the CallSid inserts nothing.
    return _run(lambda conn, cursor, dialect: _start_new_call(conn, cursor, dialect, inp))


def _run(turn: Callable[[PoolProxiedConnection, DBAPICursor, Dialect], T]) -> T:
    """PostgreSQL: each statement commits itself (no BEGIN or COMMIT round trip: the
    engine's connections are in autocommit, ``core.db``); READ COMMITTED gives each
    statement its own snapshot either way. SQLite keeps transactions (its write gate is
    held from the first write to the commit)."""
    engine = unpinged_engine()
    source = held_connections() or engine  # PostgreSQL: this thread's own connection
    return run(source, lambda conn, cursor: turn(conn, cursor, engine.dialect))


def _start_new_call(
    conn: PoolProxiedConnection, cursor: DBAPICursor, dialect: Dialect, inp: CallInput
) -> str | None:
    direction = inp.direction or "inbound"
    now = utcnow()
    params = {
        "call_sid": inp.call_sid,
        "from_number": inp.from_number,
        "to_number": inp.to_number,
        "direction": direction,
        "status": CallStatus.IN_PROGRESS,
        "outcome": SurveyOutcome.IN_PROGRESS,
        "step": "start",
        "created_at": now,
        "answered_at": now,
        "phone": inp.to_number if direction.startswith("outbound") else inp.from_number,
        "slug": inp.args.get("survey") or current_app.config["DEFAULT_SURVEY"],
    }
    inserted = _statement(dialect, "start").first(cursor, params)
    if inserted is None:
        return None  # see START_SELECT: the full flow serves it (closing rolls back)
    conn.commit()  # on PostgreSQL's autocommit connection, no round trip
    return _reply(survey_cache.version(inserted[0]), "start", 0, survey.start)


def plain_answer(inp: CallInput) -> str | None:
    """A believed score to a question that is not the last: store it, ask the next one."""
    position = inp.args.get("n", "0")
    if inp.step != "q" or not (position.isascii() and position.isdecimal()):
        return None
    # Safe to run again: the answer's INSERT keeps the first, the step is set to the same.
    served = _run(
        lambda conn, cursor, dialect: _plain_answer(conn, cursor, dialect, inp, int(position))
    )
    if served is None:
        return None
    reply, session_id, told = served
    if told:  # the survey ended (a hang-up) before the answer was stored: see lifecycle
        lifecycle.survey_finished(session_id)
    return reply


def _plain_answer(
    conn: PoolProxiedConnection,
    cursor: DBAPICursor,
    dialect: Dialect,
    inp: CallInput,
    position: int,
) -> tuple[str, int, bool] | None:
    found = _statement(dialect, "read").first(cursor, {"call_sid": inp.call_sid})
    if found is None:
        return None
    session_id, version_id, contact_id, status, outcome, answered_at, step, opted_out_at = found
    # Only a session the full flow would leave as it is, still under way, not opted out.
    set_up = sessions.is_set_up(version_id, contact_id, status, answered_at, outcome)
    if version_id is None or not set_up or opted_out_at is not None:
        return None
    if outcome is not SurveyOutcome.IN_PROGRESS:
        return None
    version = survey_cache.version(version_id)
    if position + 1 >= len(version.questions):
        return None  # the last question: the consent step follows, the full flow's
    question = version.questions[position]
    reading = read_reply(question.kind, inp.digits, inp.speech)
    threshold = confidence_threshold()
    if reading.value is None or reading.intent is not None or inp.unsure(threshold):
        return None
    reply = _reply(version, "q", position + 1, lambda t: survey.ask_question(t, position + 1))
    told = _store(conn, cursor, dialect, inp, session_id, question.id, reading.value, step)
    return reply, session_id, told


def _store(
    conn: PoolProxiedConnection,
    cursor: DBAPICursor,
    dialect: Dialect,
    inp: CallInput,
    session_id: int,
    question_id: int,
    value: int,
    step: str | None,
) -> bool:
    """Store the answer; True if the callback rules were told of the survey before it.

    The read before may be stale: a hang-up can end the survey and tell the rules in
    between. The write says what the survey is as written, in the statement that stores
    the answer, so no statement is added: on PostgreSQL the step's UPDATE (run even when
    the step is unchanged) waits for a hang-up's UPDATE of the row or makes it wait, so
    either this sees the hang-up or the hang-up's evaluation sees this answer; on SQLite
    the gate lets one writer in at a time, the same either way. Told before: the session is
    marked for the sweep in the same commit (``callbacks.verdicts``), on PostgreSQL by the
    step's UPDATE, on SQLite by one more UPDATE in that rare case only.
    """
    # The first answer to a question is kept; a repeated webhook changes nothing.
    answer = {
        "session_id": session_id,
        "question_id": question_id,
        "digits": inp.digits or None,
        "speech": inp.speech or None,
        "confidence": inp.confidence,
        "value": value,
        "attempts": inp.tries,
        "created_at": utcnow(),  # given: a default is not applied inside a WITH (below)
    }
    if dialect.name == "postgresql":
        # One statement committed by itself: no BEGIN, UPDATE and COMMIT round trips.
        named = {f"answer_{name}": given for name, given in answer.items()}
        both = {**named, "session_id": session_id, "to": inp.step, "owed_at": answer["created_at"]}
        state = _statement(dialect, "answer and step").first(cursor, both)
    else:
        state = _statement(dialect, "answer").first(cursor, answer)  # None: stored before
        if step != inp.step:
            to = {"session_id": session_id, "to": inp.step}
            _statement(dialect, "step").execute(cursor, to)
        if state is not None and lifecycle.rules_were_told(*state):
            owed = {"session_id": session_id, "owed_at": answer["created_at"]}
            _statement(dialect, "owed").execute(cursor, owed)
    conn.commit()  # on an autocommit connection (PostgreSQL), no round trip
    return state is not None and lifecycle.rules_were_told(*state)
