"""One person, one contact: a number is read in its one written form (``core.phones``)
wherever it enters (API, Twilio's From, a STOP text), so an opt-out or a do-not-call entry
holds for every way of writing it, and input that cannot be a number gets a clear 400."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import flask_migrate
import pytest
from flask import Flask

from callbacks.models import CallbackTask, TaskState
from core import contacts, suppression
from core.consents import TextConsent
from core.db import db, utcnow
from core.models import CallSession, Contact
from core.phones import InvalidNumber, normalise
from tests.callbacks.conftest import make_session
from tests.conftest import API_TOKEN, COMPANY_NUMBER, CUSTOMER, twilio_post

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
BARE = CUSTOMER.lstrip("+")  # Twilio's From on carriers that drop the "+"
FORMS = [BARE, "1 (415) 555-0123", "(415) 555-0123", "415-555-0123", "+1 415 555 0123"]
NOT_NUMBERS = ["call me", "1-800-FLOWERS", "+1 415 555 0123 ext 9", "12", "5550123"]
GOODBYE = "You have asked not to receive surveys"
sids = itertools.count(1)


def call_in(client: Any, app: Flask, from_: str) -> str:
    """A new inbound survey call from ``from_``; what the caller hears first."""
    params = {"CallSid": f"CA{next(sids):032x}", "From": from_, "To": COMPANY_NUMBER}
    return str(twilio_post(client, app, "/twilio/voice/survey", params).get_data(as_text=True))


def text_in(client: Any, app: Flask, from_: str, body: str) -> Any:
    params = {"MessageSid": f"SM{next(sids):032x}", "From": from_, "To": COMPANY_NUMBER}
    return twilio_post(client, app, "/twilio/sms", {**params, "Body": body})


def test_the_rule_reads_every_form_as_e164() -> None:
    """Spaces, dashes, parentheses, a missing "+" or "+1": all one E.164 number."""
    assert {normalise(form) for form in [CUSTOMER, *FORMS]} == {CUSTOMER}
    assert normalise("447911123456") == "+447911123456"  # a foreign number whose "+" fell off


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_the_rule_refuses_what_is_not_a_number(text: str) -> None:
    """Letters, extensions, too few digits, a number without its area code: refused."""
    with pytest.raises(InvalidNumber, match="not a phone number"):
        normalise(text)


def test_an_opt_out_by_text_holds_when_the_carrier_drops_the_plus(app: Flask, client: Any) -> None:
    """Surveyed from 14155550123, STOP texted from +14155550123: the next call is not a survey."""
    assert "<Gather" in call_in(client, app, BARE)
    assert text_in(client, app, CUSTOMER, "STOP").status_code == 200
    heard = call_in(client, app, BARE)
    assert GOODBYE in heard and "<Gather" not in heard
    assert db.session.scalar(db.select(db.func.count(Contact.id))) == 1


def test_an_opt_out_by_keypad_without_the_plus_holds_for_the_e164_form(
    app: Flask, client: Any
) -> None:
    """Opted out on a call whose From had no "+": a call from +1… is not surveyed either."""
    call_in(client, app, CUSTOMER)  # met before in E.164
    contacts.opt_out(contacts.get_or_create(BARE), source="keypad")
    db.session.commit()
    heard = call_in(client, app, CUSTOMER)
    assert GOODBYE in heard and "<Gather" not in heard


@pytest.mark.parametrize("form", FORMS)
def test_the_api_refuses_every_form_of_an_opted_out_number(
    app: Flask, client: Any, form: str
) -> None:
    """A CRM's survey call or text to any form of a number that texted STOP: 409 opted_out."""
    text_in(client, app, BARE, "STOP")
    called = client.post("/api/surveys/calls", json={"to": form}, headers=AUTH)
    assert (called.status_code, called.get_json()["error"]) == (409, "opted_out")
    texted = client.post("/api/surveys/texts", json={"to": form}, headers=AUTH)
    assert (texted.status_code, texted.get_json()["error"]) == (409, "opted_out")


@pytest.mark.parametrize("form", FORMS)
def test_do_not_call_in_one_form_is_found_and_lifted_in_another(
    app: Flask, client: Any, form: str
) -> None:
    """Listed as +1…: found in another form, and lifted by that form."""
    call_in(client, app, BARE)
    listed = client.post("/api/dnc", json={"number": CUSTOMER}, headers=AUTH)
    assert listed.get_json()["number"] == CUSTOMER
    contact = contacts.find(form)
    assert contact is not None and contact.do_not_call_at is not None
    assert suppression.suppression_reason(form) == "do_not_call"
    assert client.delete(f"/api/dnc/{quote(form)}", headers=AUTH).status_code == 204


def test_every_entry_makes_one_contact(app: Flask, client: Any) -> None:
    """Calls from both forms and a consent PUT in a third are one contact, stored as E.164."""
    call_in(client, app, BARE)
    call_in(client, app, CUSTOMER)
    put = client.put(
        f"/api/contacts/{quote('(415) 555-0123')}/texts-consent",
        json={"consent": True},
        headers=AUTH,
    )
    assert put.status_code == 200 and put.get_json()["to"] == CUSTOMER
    assert [c.phone for c in db.session.scalars(db.select(Contact))] == [CUSTOMER]
    numbers = {s.from_number for s in db.session.scalars(db.select(CallSession))}
    assert numbers == {CUSTOMER}


def test_erasure_by_any_form_finds_the_caller(app: Flask, client: Any) -> None:
    """DELETE /api/contacts/<form> erases what calls from the other form left."""
    call_in(client, app, BARE)
    response = client.delete(f"/api/contacts/{quote('1 (415) 555-0123')}", headers=AUTH)
    assert response.status_code == 200 and response.get_json()["sessions"] == 1
    assert contacts.find(CUSTOMER) is None


REQUESTS = [
    ("post", "/api/surveys/calls", "to"),
    ("post", "/api/surveys/texts", "to"),
    ("post", "/api/dnc", "number"),
    ("delete", "/api/dnc/{}", None),
    ("delete", "/api/contacts/{}", None),
    ("put", "/api/contacts/{}/texts-consent", None),
]


@pytest.mark.parametrize("text", NOT_NUMBERS)
@pytest.mark.parametrize(("method", "path", "field"), REQUESTS)
def test_what_cannot_be_a_number_is_a_400(
    app: Flask, client: Any, text: str, method: str, path: str, field: str | None
) -> None:
    """Every API that takes a number answers 400 invalid_number, never a guess or a 500."""
    body: dict[str, Any] = {field: text} if field else {"consent": True}
    response = getattr(client, method)(path.format(quote(text)), json=body, headers=AUTH)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"] == "invalid_number"
    assert db.session.scalar(db.select(db.func.count(Contact.id))) == 0


# --- rows written before numbers had one form ---------------------------------------------


def test_migration_merges_contacts_that_are_one_number(app: Flask, client: Any) -> None:
    """Two rows for one number become one: suppressed if either was, calls and tasks moved."""
    # Written with today's models, then taken back to the schema before the merge (a later
    # column, e.g. call_sessions.callback_promised_at, would not exist there for an insert).
    plain = make_session(phone=CUSTOMER, nps=2)  # an open task for the E.164 row
    bare = make_session(phone=BARE, nps=1)  # and for the row without "+"
    tasks = [
        CallbackTask(
            session_id=s.id,
            contact_id=s.contact_id,
            reasons=[{"code": "low_nps", "detail": "", "session_id": s.id}],
            phone=s.from_number,
            timezone="America/Los_Angeles",
            scheduled_for=utcnow(),
            due_at=utcnow(),
        )
        for s in (plain, bare)
    ]
    db.session.add_all(tasks)
    assert bare.contact is not None and bare.contact.phone == BARE  # as stored back then
    granted = utcnow() - timedelta(days=1)  # before the opt-out: it ends with it
    db.session.add(TextConsent(contact_id=plain.contact_id, source="crm", granted_at=granted))
    bare.contact.opted_out_at = utcnow()
    db.session.add(Contact(phone="415-555-0199", do_not_call_at=utcnow()))
    db.session.commit()
    db.session.close()  # no open transaction while the schema changes under it
    try:
        flask_migrate.downgrade(revision="i1_survey_vocabulary")
    finally:
        flask_migrate.upgrade()
    db.session.expire_all()
    [contact] = db.session.scalars(db.select(Contact).where(Contact.phone.like("%4155550123")))
    assert contact.phone == CUSTOMER and contact.opted_out_at is not None
    assert {s.contact_id for s in db.session.scalars(db.select(CallSession))} == {contact.id}
    open_tasks = db.session.scalars(
        db.select(CallbackTask).where(CallbackTask.closed_at.is_(None))
    ).all()
    assert [t.contact_id for t in open_tasks] == [contact.id]
    assert len(open_tasks[0].reasons) == 2
    assert {t.state for t in db.session.scalars(db.select(CallbackTask))} >= {TaskState.CLOSED}
    consent = db.session.scalar(db.select(TextConsent))
    assert consent is not None and consent.withdrawn_at is not None
    assert suppression.suppression_reason(CUSTOMER) == "opted_out"
    assert suppression.suppression_reason("+14155550199") == "do_not_call"
    assert GOODBYE in call_in(client, app, BARE)
