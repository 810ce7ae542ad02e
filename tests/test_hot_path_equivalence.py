"""The hot path (``ivr.hot_path``) and the full flow (``survey.handle``) give the caller the
same replies and leave the same rows: each call below is played twice on an emptied
database, once as served and once with the hot path switched off, and every table and
queue is compared (ids mapped to what they point at, timestamps to whether they are set).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from flask import Flask, current_app
from redis import Redis

from core import contacts, queues, suppression
from core.db import db
from core.models import SuppressionKind, Survey, SurveyVersion
from core.seed import create_demo_survey
from dashboard.editor import QuestionDraft, VersionDraft, save_version
from dashboard.erasure import erase_caller
from ivr import hot_path
from ivr.turn import CONFIDENCE_SETTING
from tests.conftest import COMPANY_NUMBER, CUSTOMER, clear_tables, twilio_post
from tests.factories import demo_survey, make_user

SID = "CA" + "1" * 32
OTHER_SID = "CA" + "2" * 32
SURVEY = "/twilio/voice/survey"


@dataclass(frozen=True)
class Post:
    """One signed Twilio request."""

    path: str
    params: dict[str, str]


Step = Post | Callable[[], None]


def start(sid: str = SID, query: str = "", **fields: str) -> Post:
    return Post(SURVEY + query, {"CallSid": sid, "From": CUSTOMER, "To": COMPANY_NUMBER, **fields})


def reply(n: int | str, sid: str = SID, tries: int | str = 1, **fields: str) -> Post:
    """A reply to question ``n``: ``Digits``, or ``SpeechResult`` with its ``Confidence``."""
    params = {"CallSid": sid, "From": CUSTOMER, "To": COMPANY_NUMBER, **fields}
    return Post(f"{SURVEY}?step=q&try={tries}&n={n}", params)


def status(call_status: str, sid: str = SID, **fields: str) -> Post:
    params = {"CallSid": sid, "From": CUSTOMER, "To": COMPANY_NUMBER, "CallStatus": call_status}
    return Post("/twilio/voice/status", {**params, **fields})


def step(name: str, sid: str = SID, **fields: str) -> Post:
    """A reply to a later step (recording consent, callback offer)."""
    params = {"CallSid": sid, "From": CUSTOMER, "To": COMPANY_NUMBER, **fields}
    return Post(f"{SURVEY}?step={name}&try=1", params)


def outbound(post: Post) -> Post:
    """The same request on a call we placed: the customer is the callee."""
    flipped = {"From": COMPANY_NUMBER, "To": CUSTOMER, "Direction": "outbound-api"}
    return Post(post.path, {**post.params, **flipped})


# --- what happens around the calls -------------------------------------------------------


def known(phone: str = CUSTOMER) -> Callable[[], None]:
    """A caller we have met: their contact exists."""

    def setup() -> None:
        contacts.get_or_create(phone)
        db.session.commit()

    return setup


def opt_out(phone: str = CUSTOMER) -> None:
    """The caller texts STOP (or an agent opts them out): contact and suppression list."""
    contacts.opt_out(contacts.get_or_create(phone), source="sms")
    db.session.commit()


def do_not_call(phone: str = CUSTOMER) -> None:
    suppression.add(phone, SuppressionKind.DO_NOT_CALL, "crm")
    db.session.commit()


def deactivate() -> None:
    demo_survey().active_version_id = None
    db.session.commit()


def new_version() -> None:
    """An editor publishes version 2: another greeting, the questions reordered."""
    survey = demo_survey()
    assert survey.active_version is not None
    draft = VersionDraft.from_version(survey.active_version)
    draft.greeting = "Hi again, a quick survey."
    nps, _, resolved = draft.questions
    draft.questions = [
        QuestionDraft("csat", "csat", "Rate us from 1 to 5.", "one, two, three, four, five", 2),
        resolved,
        nps,
        QuestionDraft("effort", "csat", "How easy was it, 1 to 5?", "", None),
    ]
    save_version(survey, draft, make_user(email="editor@example.com"))
    db.session.commit()


def erase() -> None:
    """The caller's data erased on request: only the suppressions (kept by hash) remain."""
    erase_caller(CUSTOMER, None)
    db.session.commit()


def questionless_survey() -> None:
    """A second survey whose active version asks no question (straight to the comment)."""
    survey = Survey(slug="comment-only", name="Just a comment")
    version = SurveyVersion(
        survey=survey,
        number=1,
        greeting="Hello.",
        disclosure="Press 1 to record.",
        comment_prompt="Speak after the beep.",
        goodbye="Bye.",
    )
    db.session.add_all([survey, version])
    db.session.flush()
    survey.active_version = version
    db.session.commit()


def opt_out_other_format() -> None:
    """An opt-out recorded for the E.164 form of a number the contact holds without "+"."""
    suppression.add(CUSTOMER, SuppressionKind.OPT_OUT, "api")
    db.session.commit()


def confidence_threshold(value: float) -> Callable[[], None]:
    def setup() -> None:  # the test puts the app's setting back
        current_app.config[CONFIDENCE_SETTING] = value

    return setup


@dataclass(frozen=True)
class Case:
    name: str
    steps: tuple[Step, ...]
    # Per survey webhook: whether the hot path serves it (when switched on).
    fast: tuple[bool, ...]
    setup: tuple[Callable[[], None], ...] = field(default=(known(),))


DIGITS_SURVEY = (start(), reply(0, Digits="9"), reply(1, Digits="4"), reply(2, Digits="1"))

CASES = [
    Case("known caller keys every score", DIGITS_SURVEY, (True, True, True, False)),
    Case("first-time caller", DIGITS_SURVEY, (False, True, True, False), setup=()),
    Case("survey named in the URL", (start(query="?survey=post-call"),), (True,)),
    Case("unknown survey in the URL", (start(query="?survey=nope"),), (False,)),
    Case("empty Direction", (start(Direction=""), reply(0, Digits="7")), (True, True)),
    Case(
        "outbound call to a known customer, no session yet",
        (outbound(start()), outbound(reply(0, Digits="10"))),
        (True, True),
    ),
    Case(
        "outbound call whose session the status callbacks made first",
        tuple(
            outbound(p)
            for p in (
                status("initiated"),
                status("ringing"),
                status("in-progress"),
                start(),
                reply(0, Digits="3"),
            )
        ),
        (False, True),
    ),
    Case(
        "status callback before the start webhook",
        (status("in-progress"), start(), reply(0, Digits="8")),
        (False, True),
    ),
    Case(
        "opted-out caller starts",
        (start(), reply(0, Digits="9")),
        (False, False),
        setup=(known(), opt_out),
    ),
    Case(
        "suppressed number, no contact yet", (start(),), (False,), setup=(known(), opt_out, erase)
    ),
    Case(
        "opted out between start and answer",
        (start(), opt_out, reply(0, Digits="9"), reply(1, Digits="4")),
        (True, False, False),
    ),
    Case(
        "do-not-call caller",
        (start(), reply(0, Digits="9")),
        (True, True),
        setup=(known(), do_not_call),
    ),
    Case(  # the same known caller: Twilio's From is read in its one form (core.phones)
        "number in another format",
        (Post(SURVEY, {**start().params, "From": CUSTOMER.lstrip("+")}),),
        (True,),
    ),
    Case(
        "caller id in another case",
        (Post(SURVEY, {**start().params, "From": "client:Alice"}),),
        (False,),
        setup=(known("client:alice"),),
    ),
    Case("repeated start", (start(), start()), (True, False)),
    Case(
        "repeated and changed answer",
        (start(), reply(0, Digits="9"), reply(0, Digits="9"), reply(0, Digits="2")),
        (True, True, True, True),
    ),
    Case(
        "late answer to an earlier question",
        (start(), reply(0, Digits="9"), reply(1, Digits="4"), reply(0, Digits="9")),
        (True, True, True, True),
    ),
    Case("answer on a second try", (start(), reply(0, tries=2, Digits="6")), (True, True)),
    Case("answer with no call started", (reply(0, Digits="9"),), (False,)),
    Case(
        "CallSid reused after the call ended",
        (
            start(),
            reply(0, Digits="9"),
            status("completed", CallDuration="30"),
            start(),
            reply(1, Digits="4"),
        ),
        (True, True, False, False),
    ),
    Case("start on a call already over", (start(CallStatus="completed"),), ()),
    Case(
        "survey deactivated mid-call",
        (start(), deactivate, reply(0, Digits="9"), reply(1, Digits="4"), start(OTHER_SID)),
        (True, True, True, False),
    ),
    Case(
        "new version published mid-call",
        (
            start(),
            new_version,
            reply(0, Digits="9"),
            reply(1, Digits="4"),
            start(OTHER_SID),
            reply(0, OTHER_SID, Digits="5"),
            reply(1, OTHER_SID, SpeechResult="yes", Confidence="0.9"),
            reply(2, OTHER_SID, Digits="2"),
            reply(3, OTHER_SID, Digits="3"),
        ),
        (True, True, True, True, True, True, True, False),
    ),
    Case(
        "spoken scores",
        (
            start(),
            reply(0, SpeechResult="eight", Confidence="0.92"),
            reply(1, SpeechResult="four", Confidence="0.4"),
        ),
        (True, True, True),
    ),
    Case("speech without a Confidence", (start(), reply(0, SpeechResult="nine")), (True, True)),
    Case(
        "speech Twilio doubts",
        (start(), reply(0, SpeechResult="eight", Confidence="0.2")),
        (True, False),
    ),
    Case(
        "a score under a raised confidence threshold",
        (start(), reply(0, SpeechResult="eight", Confidence="0.8")),
        (True, False),
        setup=(known(), confidence_threshold(0.9)),
    ),
    Case(
        "a score with a request for a person",
        (start(), reply(0, SpeechResult="eight but I want to talk to someone", Confidence="0.9")),
        (True, False),
    ),
    Case(
        "keys that leave the survey",
        (
            start(),
            reply(0, Digits="*"),
            start(OTHER_SID),
            reply(0, OTHER_SID, Digits="10"),
            reply(1, OTHER_SID, Digits="9"),
        ),
        (True, False, True, True, False),
    ),
    Case(
        "keys and speech together",
        (start(), reply(0, Digits="9", SpeechResult="nine", Confidence="0.1")),
        (True, True),
    ),
    Case(
        "odd try and question numbers",
        (start(), reply("00", tries="0", Digits="9"), reply("01", tries="2", Digits="4")),
        (True, True, True),
    ),
    Case(
        "late answer after opting out on this call",
        (start(), reply(0, Digits="9"), reply(1, Digits="9"), reply(0, Digits="9")),
        (True, True, False, False),
    ),
    Case(
        "low scores, survey finished, then a late retry",
        (
            start(),
            reply(0, Digits="2"),
            reply(1, Digits="1"),
            reply(2, Digits="2"),
            step("consent", Digits="2"),
            step("offer", Digits="2"),
            reply(1, Digits="1"),
            status("completed", CallDuration="61"),
        ),
        (True, True, True, False, False, False, False),
    ),
    Case(
        "hung up mid-survey, then a late retry",
        (
            start(),
            reply(0, Digits="2"),
            status("completed", CallDuration="20"),
            reply(0, Digits="2"),
            reply(1, Digits="1"),
        ),
        (True, True, False, False),
    ),
    Case(  # one contact for both forms, opted out: the full flow says goodbye
        "opt-out kept for another form of the number",
        (Post(SURVEY, {**start().params, "From": CUSTOMER.lstrip("+")}),),
        (False,),
        setup=(known(CUSTOMER.lstrip("+")), opt_out_other_format),
    ),
    Case(
        "a survey without questions",
        (start(query="?survey=comment-only"), step("consent", Digits="2")),
        (False, False),
        setup=(known(), questionless_survey),
    ),
    Case("unknown step", (start(), Post(f"{SURVEY}?step=bogus", start().params)), (True, False)),
    Case("score off the scale", (start(), reply(0, Digits="11")), (True, False)),
    Case("no reply", (start(), reply(0)), (True, False)),
    Case("question past the end", (start(), reply(7, Digits="1")), (True, False)),
    Case("question number not a number", (start(), reply("x", Digits="1")), (True, False)),
]


# --- playing a case and reading what it left --------------------------------------------


def canonical_xml(text: str) -> Any:
    """TwiML as a tree of (tag, attributes, text, children): what Twilio acts on."""

    def node(element: ET.Element) -> Any:
        children = tuple(node(child) for child in element)
        return (element.tag, sorted(element.attrib.items()), (element.text or "").strip(), children)

    return node(ET.fromstring(text))  # noqa: S314 - our own TwiML


def heard(response: Any) -> Any:
    body = response.get_data(as_text=True)
    is_xml = response.mimetype == "text/xml"
    return (response.status_code, canonical_xml(body) if is_xml else body)


# Tables whose rows others point at, named by what a person knows them by.
NAMES = {
    "call_sessions": ("call_sid",),
    "contacts": ("phone",),
    "surveys": ("slug",),
    "survey_versions": ("survey_id", "number"),
    "questions": ("version_id", "key"),
    "users": ("email",),
}


def stored() -> dict[str, list[str]]:
    """Every table's rows without ids: a reference as the row it names, a time as set or not."""
    db.session.expire_all()
    names: dict[str, dict[int, Any]] = {}
    tables: dict[str, list[str]] = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(db.select(table)).mappings().all()
        shown = []
        for row in rows:
            seen: dict[str, Any] = {}
            for column in table.columns:
                value = row[column.name]
                if column.name in ("id", "password_hash"):  # the salt differs by nature
                    continue
                targets = [fk.column.table.name for fk in column.foreign_keys]
                if targets and value is not None:
                    value = names.get(targets[0], {}).get(value, value)
                elif isinstance(value, datetime):
                    value = "<set>"
                seen[column.name] = value
            shown.append(repr(sorted(seen.items())))
            if table.name in NAMES and "id" in row:
                names.setdefault(table.name, {})[row["id"]] = tuple(
                    seen[k] for k in NAMES[table.name]
                )
        tables[table.name] = sorted(shown)
    return tables


def queued(redis: Redis) -> dict[str, list[str]]:
    return {
        name: sorted(str(job.func_name) for job in queues.get_queue(name, redis).jobs)
        for name in queues.ALL
    }


@dataclass
class Played:
    replies: list[Any]
    rows: dict[str, list[str]]
    jobs: dict[str, list[str]]


def play(app: Flask, client: Any, redis: Redis, case: Case) -> Played:
    """The case on an emptied database with the demo survey."""
    redis.flushdb()
    clear_tables()
    create_demo_survey()
    for setup in case.setup:
        setup()
    replies = []
    for step in case.steps:
        if isinstance(step, Post):
            replies.append(heard(twilio_post(client, app, step.path, step.params)))
        else:
            step()
    return Played(replies, stored(), queued(redis))


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Whether the hot path answered each survey webhook (it stays switched on)."""
    answered: list[bool] = []
    real_start, real_answer = hot_path.start_new_call, hot_path.plain_answer

    def start_new_call(inp: Any) -> str | None:
        reply = real_start(inp)
        if reply is not None:  # else the view asks plain_answer, which says
            answered.append(True)
        return reply

    def plain_answer(inp: Any) -> str | None:
        reply = real_answer(inp)
        answered.append(reply is not None)
        return reply

    monkeypatch.setattr(hot_path, "start_new_call", start_new_call)
    monkeypatch.setattr(hot_path, "plain_answer", plain_answer)
    yield answered


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hot_path_leaves_what_the_full_flow_leaves(
    app: Flask,
    client: Any,
    redis_conn: Redis,
    monkeypatch: pytest.MonkeyPatch,
    served: list[bool],
    case: Case,
) -> None:
    """Same TwiML, same rows and queued jobs, with the hot path on and off."""
    monkeypatch.setitem(app.config, CONFIDENCE_SETTING, app.config.get(CONFIDENCE_SETTING))
    fast = play(app, client, redis_conn, case)
    assert served == list(case.fast), "the hot path did not serve the turns it should"
    monkeypatch.setattr(hot_path, "start_new_call", lambda inp: None)
    monkeypatch.setattr(hot_path, "plain_answer", lambda inp: None)
    app.config[CONFIDENCE_SETTING] = None
    full = play(app, client, redis_conn, case)
    assert fast.replies == full.replies
    assert fast.rows == full.rows
    assert fast.jobs == full.jobs
