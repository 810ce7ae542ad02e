"""Text with a NUL character, which PostgreSQL cannot store: sign-in says the details are
wrong and the dashboard's forms answer 400, never a 500, and nothing is saved."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from core.db import db
from core.models import Survey, SurveyVersion
from tests.dashboard.test_editor import form_for, versions
from tests.factories import PASSWORD, csrf_token, demo_survey, forget_csrf


def test_sign_in_with_a_nul_in_the_email_is_refused_as_wrong(app: Flask, client: Any) -> None:
    """The sign-in form answers 401 "Wrong email or password", as for any unknown address."""
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"email": "boss\x00@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 401
    assert "Wrong email or password" in response.get_data(as_text=True)


@pytest.mark.parametrize("field", ["name", "slug"])
def test_a_new_survey_named_with_a_nul_is_a_400(signed_in: Any, field: str) -> None:
    """Creating a survey with a NUL in its name or slug saves nothing."""
    data = {"name": "Bakery", "slug": "bakery"}
    data[field] = data[field][:3] + "\x00" + data[field][3:]
    token = csrf_token(signed_in, "/dashboard/surveys")
    response = signed_in.post("/dashboard/surveys", data={**data, "csrf_token": token})
    assert response.status_code == 400
    forget_csrf()
    assert db.session.scalar(db.select(db.func.count()).select_from(Survey)) == 1  # the demo


def test_an_edit_with_a_nul_in_a_prompt_is_a_400(app: Flask, signed_in: Any) -> None:
    """Saving the editor with a NUL in the greeting makes no new version."""
    survey = demo_survey()
    before = versions(survey)
    response = signed_in.post(
        f"/dashboard/surveys/{survey.id}/edit",
        data=form_for(survey, signed_in, greeting="Hello\x00 there"),
    )
    assert response.status_code == 400
    db.session.expire_all()
    assert versions(survey) == before
    assert db.session.scalar(db.select(db.func.count()).select_from(SurveyVersion)) == before
