"""Opt-outs and do-not-call entries kept by a keyed hash of the number (core.suppression)."""

from __future__ import annotations

import json
from typing import Any

import flask_migrate
from flask import Flask
from sqlalchemy import text

from core import contacts, suppression
from core.db import db, utcnow
from core.models import Contact, Event, Role, Suppression, SuppressionKind
from simulator.actions import Press
from simulator.caller import CallerSimulator
from tests.conftest import API_TOKEN, COMPANY_NUMBER, CUSTOMER
from tests.factories import csrf_token, login, make_user

OTHER = "+14155550199"


AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def opt_out_by_phone(simulator: CallerSimulator, survey_url: str, status_url: str) -> None:
    """The caller presses 9 on the second question of a survey call."""
    simulator.call(survey_url, from_=CUSTOMER, to=COMPANY_NUMBER, status_callback=status_url).run(
        [Press("8#"), Press("9")]
    )


def erase_in_dashboard(client: Any) -> str:
    """A manager deletes the caller's data on the privacy page; the page shown after."""
    login(client, make_user(Role.MANAGER))
    token = csrf_token(client, "/dashboard/privacy")
    response = client.post(
        "/dashboard/privacy",
        data={"phone": CUSTOMER, "confirm": "yes", "csrf_token": token},
        follow_redirects=True,
    )
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


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
    added = db.session.scalars(db.select(Event).where(Event.kind == "dnc.added")).all()
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
    opt_out_by_phone(simulator, survey_url, status_url)
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


# --- suppression outlives "delete this caller's data" ---------------------------------------


def test_survey_call_to_an_opted_out_number_is_refused_after_erasure(
    app: Flask, client: Any, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """Opt out by phone, erase the caller, then ask the API to survey them: 409 opted_out."""
    opt_out_by_phone(simulator, survey_url, status_url)
    erase_in_dashboard(client)
    assert contacts.find(CUSTOMER) is None  # the contact no longer holds the number
    response = client.post("/api/surveys/calls", json={"to": CUSTOMER}, headers=AUTH)
    assert response.status_code == 409
    assert response.get_json()["error"] == "opted_out"


def test_erasure_page_says_the_opt_out_stays(
    app: Flask, client: Any, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """The manager is told the number stays on the opt-out list, as a keyed hash only."""
    opt_out_by_phone(simulator, survey_url, status_url)
    page = erase_in_dashboard(client)
    assert "The number stays on the opt-out list, kept only as a keyed hash." in page


def test_erasure_audit_row_names_the_kept_suppression_not_the_number(
    app: Flask, client: Any, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """The caller.data_deleted event carries the hash and what was kept, never the number."""
    opt_out_by_phone(simulator, survey_url, status_url)
    erase_in_dashboard(client)
    event = db.session.scalar(db.select(Event).where(Event.kind == "caller.data_deleted"))
    assert event is not None
    assert event.data["number_hash"] == suppression.number_hash(CUSTOMER)
    assert event.data["suppressions_kept"] == ["opt_out"]
    assert "5550123" not in json.dumps(event.data)


def test_do_not_call_set_only_on_the_contact_is_kept_by_erasure(app: Flask, client: Any) -> None:
    """A contact marked do-not-call outside the table still ends up suppressed after erasure."""
    db.session.add(Contact(phone=CUSTOMER, do_not_call_at=utcnow()))
    db.session.commit()
    erase_in_dashboard(client)
    assert suppression.suppression_reason(CUSTOMER) == "do_not_call"
