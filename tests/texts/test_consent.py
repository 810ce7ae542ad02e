"""Permission to text: asked at the end of the voice survey, given through the API, kept per
number with time and source, and withdrawn by any opt-out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from core import consents, contacts
from core.db import db, utcnow
from core.models import Role, Survey
from simulator.actions import Action, Press
from simulator.caller import CallerSimulator
from simulator.texting import TextingPhone
from tests.conftest import COMPANY_NUMBER, CUSTOMER
from tests.dashboard.test_editor import form_for
from tests.factories import demo_survey, login, make_user
from tests.texts.conftest import AUTH, Clock, request_text_survey, texts_to
from texts import consent
from texts.models import TextMessage

SURVEY = [Press("9#"), Press("4"), Press("1"), Press("2"), Press("2")]  # no comment, no callback
ASKED = "May we send you the occasional text message"


@pytest.fixture
def offers_texts(app: Flask) -> None:
    survey = db.session.scalar(db.select(Survey).where(Survey.slug == "post-call"))
    assert survey is not None and survey.active_version is not None
    survey.active_version.offer_texts = True
    db.session.commit()


def survey_call(
    simulator: CallerSimulator, survey_url: str, status_url: str, actions: list[Action]
) -> str:
    result = simulator.call(
        survey_url, from_=CUSTOMER, to=COMPANY_NUMBER, status_callback=status_url
    ).run(actions)
    return " ".join(result.heard)


def test_yes_at_the_end_of_the_voice_survey_lets_a_text_survey_go_out(
    offers_texts: None,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    client: Any,
    clock: Clock,
    phone: TextingPhone,
) -> None:
    """Pressing 1 to "may we text you?" before the goodbye; a week on, a text survey goes out."""
    heard = survey_call(simulator, survey_url, status_url, [*SURVEY, Press("1")])
    assert ASKED in heard
    assert heard.index(ASKED) < heard.index("Goodbye")
    standing = consent.standing(CUSTOMER)
    assert standing is not None and standing.source == "voice_survey"
    # One survey a week, whatever the channel: the text survey goes out after that.
    assert request_text_survey(client).get_json()["error"] == "recently_surveyed"
    clock.now = utcnow().replace(hour=19, minute=0) + timedelta(days=8)  # noon in SF
    assert request_text_survey(client).status_code == 201
    assert "how likely are you to recommend us" in texts_to(phone)[0]


def test_no_at_the_end_of_the_voice_survey_keeps_texts_off(
    offers_texts: None, simulator: CallerSimulator, survey_url: str, status_url: str, client: Any
) -> None:
    """Pressing 2: no permission, and a text survey is 409 no_text_consent."""
    survey_call(simulator, survey_url, status_url, [*SURVEY, Press("2")])
    assert consent.standing(CUSTOMER) is None
    assert request_text_survey(client).get_json()["error"] == "no_text_consent"


def test_a_survey_version_without_texts_does_not_ask(
    simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """offer_texts off (the default): the goodbye follows the callback offer as before."""
    heard = survey_call(simulator, survey_url, status_url, SURVEY)
    assert ASKED not in heard
    assert heard.endswith("Thank you for your feedback. Goodbye.")


def test_pressing_9_at_the_texts_question_opts_out(
    offers_texts: None, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """9 opts out there too, as on every step where it cannot be an answer."""
    heard = survey_call(simulator, survey_url, status_url, [*SURVEY, Press("9")])
    assert "removed from all future surveys" in heard
    assert consent.standing(CUSTOMER) is None


def test_the_call_api_records_the_crms_consent_with_its_source(client: Any, app: Flask) -> None:
    """texts_consent with texts_consent_source "crm" on POST /api/surveys/calls is kept."""
    response = client.post(
        "/api/surveys/calls",
        json={"to": CUSTOMER, "texts_consent": True, "texts_consent_source": "crm"},
        headers=AUTH,
    )
    assert response.status_code in (201, 202)
    standing = consent.standing(CUSTOMER)
    assert standing is not None
    assert standing.source == "crm"
    assert standing.granted_at is not None


def test_the_call_api_refuses_a_non_boolean_consent(client: Any, app: Flask) -> None:
    """ "texts_consent": "yes" is a 400 naming the field."""
    response = client.post(
        "/api/surveys/calls", json={"to": CUSTOMER, "texts_consent": "yes"}, headers=AUTH
    )
    assert response.status_code == 400
    assert "texts_consent" in response.get_json()["message"]


def test_a_refused_call_keeps_no_consent(client: Any, app: Flask) -> None:
    """An opted-out number: the call is 409 and a stale CRM flag does not turn texts on."""
    contacts.opt_out(contacts.get_or_create(CUSTOMER), source="keypad")
    db.session.commit()
    response = client.post(
        "/api/surveys/calls", json={"to": CUSTOMER, "texts_consent": True}, headers=AUTH
    )
    assert response.status_code == 409
    assert consent.standing(CUSTOMER) is None


def test_the_contact_record_api_grants_and_withdraws(client: Any, app: Flask) -> None:
    """PUT /api/contacts/<n>/texts-consent true, then false."""
    url = f"/api/contacts/{CUSTOMER}/texts-consent"
    given = client.put(url, json={"consent": True, "source": "crm"}, headers=AUTH)
    assert given.status_code == 200
    assert given.get_json()["texts_consent"] is True
    assert given.get_json()["source"] == "crm"
    taken = client.put(url, json={"consent": False}, headers=AUTH)
    assert taken.get_json()["texts_consent"] is False
    assert not consent.may_text(CUSTOMER)


def test_a_voice_opt_out_withdraws_permission_with_its_source(client: Any, app: Flask) -> None:
    """Pressing 9 on a call ends the permission, noting why."""
    client.put(f"/api/contacts/{CUSTOMER}/texts-consent", json={"consent": True}, headers=AUTH)
    contact = contacts.find(CUSTOMER)
    contacts.opt_out(contact, source="keypad")
    db.session.commit()
    [row] = db.session.scalars(db.select(consents.TextConsent)).all()
    assert row.withdrawn_at is not None and row.withdrawn_source == "keypad"


def test_erasing_a_caller_blanks_their_texts_and_ends_permission(
    client: Any, app: Flask, clock: Clock, phone: TextingPhone
) -> None:
    """DELETE /api/contacts/<n>: no body or number of any text is left, permission is gone."""
    client.put(f"/api/contacts/{CUSTOMER}/texts-consent", json={"consent": True}, headers=AUTH)
    request_text_survey(client)
    phone.send("3")
    assert client.delete(f"/api/contacts/{CUSTOMER}", headers=AUTH).status_code == 200
    db.session.expire_all()
    kept = db.session.scalars(db.select(TextMessage)).all()
    assert kept and all(m.body == "" and CUSTOMER not in m.number for m in kept)
    assert not consent.may_text(CUSTOMER)


def test_a_manager_turns_the_texts_question_on_in_the_editor(app: Flask, client: Any) -> None:
    """Ticking "ask for permission to text" saves a version that asks."""
    login(client, make_user(Role.MANAGER))
    survey = demo_survey()
    form = form_for(survey, client, offer_texts="on")
    assert client.post(f"/dashboard/surveys/{survey.id}/edit", data=form).status_code == 302
    db.session.expire_all()
    assert survey.active_version is not None and survey.active_version.offer_texts
    assert "ask for permission to text" in client.get(
        f"/dashboard/surveys/{survey.id}/edit"
    ).get_data(as_text=True)
