"""Opt-outs and do-not-call entries kept by a keyed hash of the number (core.suppression)."""

from __future__ import annotations

import json

import flask_migrate
from flask import Flask
from sqlalchemy import text

from core import contacts, suppression
from core.db import db, utcnow
from core.models import Contact, Event, Suppression, SuppressionKind
from simulator.actions import Press
from simulator.caller import CallerSimulator
from tests.conftest import COMPANY_NUMBER, CUSTOMER

OTHER = "+14155550199"


def stored_text() -> str:
    """Everything the suppressions table and the event log hold, as one string."""
    rows = db.session.execute(text("SELECT * FROM suppressions")).all()
    events = [e.data for e in db.session.scalars(db.select(Event))]
    return json.dumps([list(map(str, r)) for r in rows]) + json.dumps(events)


def test_a_number_never_suppressed_has_no_reason(app: Flask) -> None:
    """suppression_reason is None for a number nobody opted out or listed."""
    assert suppression.suppression_reason(CUSTOMER) is None


def test_opt_out_is_the_reason_once_added(app: Flask) -> None:
    """An opt-out added for a number makes its reason "opted_out"."""
    suppression.add(CUSTOMER, SuppressionKind.OPT_OUT, "api")
    db.session.commit()
    assert suppression.suppression_reason(CUSTOMER) == "opted_out"
    assert suppression.suppression_reason(OTHER) is None


def test_do_not_call_wins_over_an_opt_out(app: Flask) -> None:
    """A number both opted out and on the do-not-call list answers "do_not_call"."""
    suppression.add(CUSTOMER, "opt_out", "keypad")
    suppression.add(CUSTOMER, "do_not_call", "dashboard")
    db.session.commit()
    assert suppression.suppression_reason(CUSTOMER) == "do_not_call"


def test_formatting_of_the_number_does_not_matter(app: Flask) -> None:
    """'+1 (415) 555-0123' and '+14155550123' are one entry."""
    suppression.add("+1 (415) 555-0123", "do_not_call", "import")
    db.session.commit()
    assert suppression.suppression_reason(CUSTOMER) == "do_not_call"


def test_adding_twice_keeps_one_row_and_one_audit_event(app: Flask) -> None:
    """add is idempotent: the second call answers False and changes nothing."""
    assert suppression.add(CUSTOMER, "do_not_call", "api") is True
    assert suppression.add(CUSTOMER, "do_not_call", "api") is False
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count(Suppression.id))) == 1
    added = db.session.scalars(db.select(Event).where(Event.kind == "suppression.added")).all()
    assert len(added) == 1


def test_neither_table_nor_audit_holds_the_number(app: Flask) -> None:
    """Only the keyed hash is stored: no form of the number is in the rows or events."""
    suppression.add(CUSTOMER, "do_not_call", "api")
    suppression.remove(CUSTOMER, "do_not_call", "api")
    suppression.add(CUSTOMER, "opt_out", "keypad")
    db.session.commit()
    held = stored_text()
    assert CUSTOMER.lstrip("+") not in held and "5550123" not in held
    assert suppression.number_hash(CUSTOMER) in held


def test_remove_lifts_the_entry_and_says_whether_there_was_one(app: Flask) -> None:
    """remove answers True for a held entry, then False; the number is callable again."""
    suppression.add(CUSTOMER, "do_not_call", "api")
    assert suppression.remove(CUSTOMER, "do_not_call", "api") is True
    assert suppression.remove(CUSTOMER, "do_not_call", "api") is False
    db.session.commit()
    assert suppression.suppression_reason(CUSTOMER) is None


def test_the_hash_key_comes_from_suppression_hash_key(app: Flask) -> None:
    """SUPPRESSION_HASH_KEY, when set, keys the hash instead of SECRET_KEY."""
    with_secret = suppression.number_hash(CUSTOMER)
    app.config["SUPPRESSION_HASH_KEY"] = "another-key"
    try:
        assert suppression.number_hash(CUSTOMER) != with_secret
    finally:
        app.config["SUPPRESSION_HASH_KEY"] = ""


def test_pressing_nine_keeps_the_opt_out_by_hash(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """A keypad opt-out during a survey is stored as a suppression of the caller's number."""
    simulator.call(survey_url, from_=CUSTOMER, to=COMPANY_NUMBER, status_callback=status_url).run(
        [Press("8#"), Press("9")]
    )
    db.session.expire_all()
    assert suppression.suppression_reason(CUSTOMER) == "opted_out"
    row = db.session.scalar(db.select(Suppression))
    assert row is not None and row.source == "keypad"


def test_a_new_contact_for_a_suppressed_number_starts_suppressed(app: Flask) -> None:
    """A contact made again for a number with entries (e.g. after erasure) carries them."""
    suppression.add(CUSTOMER, "opt_out", "keypad")
    suppression.add(CUSTOMER, "do_not_call", "api")
    db.session.commit()
    contact = contacts.get_or_create(CUSTOMER)
    assert contact.opted_out_at is not None and contact.do_not_call_at is not None


def test_listing_a_number_marks_its_contact_do_not_call(app: Flask) -> None:
    """Adding and removing a do-not-call entry sets and clears the contact's own flag."""
    contact = contacts.get_or_create(CUSTOMER)
    suppression.add(CUSTOMER, "do_not_call", "dashboard")
    db.session.commit()
    assert contact.do_not_call_at is not None
    suppression.remove(CUSTOMER, "do_not_call", "dashboard")
    db.session.commit()
    assert contact.do_not_call_at is None


def test_migration_copies_existing_opt_outs_and_do_not_call(app: Flask) -> None:
    """Contacts opted out or listed before the table existed are suppressed after upgrade."""
    now = utcnow()
    flask_migrate.downgrade(revision="c1_recording_blobs")
    try:
        db.session.execute(
            Contact.__table__.insert(),
            [
                {"phone": phone, "opted_out_at": out, "do_not_call_at": dnc}
                | {"created_at": now, "updated_at": now}
                for phone, out, dnc in (
                    (CUSTOMER, now, None),
                    (OTHER, None, now),
                    ("erased-9", now, None),  # erased before: nothing left to hash
                )
            ],
        )
        db.session.commit()
    finally:
        flask_migrate.upgrade()
    assert suppression.suppression_reason(CUSTOMER) == "opted_out"
    assert suppression.suppression_reason(OTHER) == "do_not_call"
    assert db.session.scalar(db.select(db.func.count(Suppression.id))) == 2
