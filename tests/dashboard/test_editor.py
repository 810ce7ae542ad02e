"""Survey editor: saving makes a new active version; old answers keep theirs."""

from __future__ import annotations

from typing import Any

from flask import Flask

from core.db import db
from core.models import Role, Survey, SurveyVersion
from dashboard import editor
from simulator.caller import CallerSimulator
from tests.conftest import COMPANY_NUMBER, CUSTOMER
from tests.dashboard.conftest import make_session, make_team
from tests.factories import csrf_token, demo_survey, login, make_user

NEW_PROMPT = "How likely are you to recommend our bakery, from 0 to 10? Then press pound."


def form_for(survey: Survey, client: Any, **changes: str) -> dict[str, str]:
    """The editor form as the browser would post it, with some fields changed."""
    assert survey.active_version is not None
    draft = editor.VersionDraft.from_version(survey.active_version)
    data = {
        "csrf_token": csrf_token(client, f"/dashboard/surveys/{survey.id}/edit"),
        "language": draft.language,
        "voice": draft.voice,
        "greeting": draft.greeting,
        "disclosure": draft.disclosure,
        "comment_prompt": draft.comment_prompt,
        "goodbye": draft.goodbye,
        "comment_max_seconds": str(draft.comment_max_seconds),
        "record_comment": "on",
        "negative_comment": "on",
    }
    for i, q in enumerate(draft.questions):
        data |= {
            f"q-{i}-position": str(i + 1),
            f"q-{i}-key": q.key,
            f"q-{i}-kind": q.kind,
            f"q-{i}-prompt": q.prompt,
            f"q-{i}-hints": q.speech_hints,
            f"q-{i}-low": "" if q.low_threshold is None else str(q.low_threshold),
        }
    n = len(draft.questions)
    data |= {
        f"q-{n}-position": str(n + 1),
        f"q-{n}-key": "",
        f"q-{n}-kind": "nps",
        f"q-{n}-prompt": "",
    }
    data.update(changes)
    return data


def versions(survey: Survey) -> int:
    return (
        db.session.scalar(
            db.select(db.func.count(SurveyVersion.id)).where(SurveyVersion.survey_id == survey.id)
        )
        or 0
    )


def test_saving_creates_an_active_version(app: Flask, signed_in: Any) -> None:
    """Changing a prompt makes version 2 the active one with the new text."""
    survey = demo_survey()
    response = signed_in.post(
        f"/dashboard/surveys/{survey.id}/edit",
        data=form_for(survey, signed_in, **{"q-0-prompt": NEW_PROMPT}),
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert survey.active_version is not None and survey.active_version.number == 2
    assert survey.active_version.questions[0].prompt == NEW_PROMPT
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Saved version 2" in page


def test_old_answers_keep_their_version(app: Flask, signed_in: Any) -> None:
    """A session answered on version 1 still points at version 1's question after an edit."""
    survey = demo_survey()
    session = make_session(nps=3)
    old_question_id = session.answers[0].question_id
    signed_in.post(
        f"/dashboard/surveys/{survey.id}/edit",
        data=form_for(survey, signed_in, **{"q-0-prompt": NEW_PROMPT}),
    )
    db.session.expire_all()
    assert session.survey_version is not None and session.survey_version.number == 1
    assert session.answers[0].question_id == old_question_id
    assert session.answers[0].question.prompt != NEW_PROMPT


def test_voice_flow_uses_the_new_version(
    app: Flask, signed_in: Any, simulator: CallerSimulator, survey_url: str
) -> None:
    """A phone call after saving hears the edited prompt."""
    survey = demo_survey()
    signed_in.post(
        f"/dashboard/surveys/{survey.id}/edit",
        data=form_for(survey, signed_in, **{"q-0-prompt": NEW_PROMPT}),
    )
    turn = simulator.call(survey_url, from_=CUSTOMER, to=COMPANY_NUMBER).start()
    assert NEW_PROMPT in " ".join(turn.said)


def test_unchanged_form_makes_no_version(app: Flask, signed_in: Any) -> None:
    """Saving without changes says so and keeps version 1."""
    survey = demo_survey()
    response = signed_in.post(
        f"/dashboard/surveys/{survey.id}/edit",
        data=form_for(survey, signed_in),
        follow_redirects=True,
    )
    assert "Nothing changed" in response.get_data(as_text=True)
    assert versions(survey) == 1


def test_invalid_form_shows_errors_and_saves_nothing(app: Flask, signed_in: Any) -> None:
    """An empty greeting and a bad key are reported next to their fields."""
    survey = demo_survey()
    response = signed_in.post(
        f"/dashboard/surveys/{survey.id}/edit",
        data=form_for(survey, signed_in, greeting=" ", **{"q-1-key": "Bad Key!"}),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "cannot be empty" in html and "lower-case letters" in html
    assert versions(survey) == 1


def test_adding_removing_and_thresholds(app: Flask, signed_in: Any) -> None:
    """A new question is appended, a removed one dropped, thresholds become callback rules."""
    survey = demo_survey()
    data = form_for(
        survey,
        signed_in,
        **{
            "q-2-remove": "on",
            "q-3-key": "again",
            "q-3-kind": "yes_no",
            "q-3-prompt": "Would you call us again? Press 1 for yes, 2 for no.",
            "q-3-low": "0",
            "q-0-low": "5",
        },
    )
    signed_in.post(f"/dashboard/surveys/{survey.id}/edit", data=data)
    db.session.expire_all()
    version = survey.active_version
    assert version is not None
    assert [q.key for q in version.questions] == ["nps", "csat", "again"]
    assert version.questions[0].low_threshold == 5


def test_voice_and_language_are_saved(app: Flask, signed_in: Any) -> None:
    """Voice and language choices land on the new version."""
    survey = demo_survey()
    signed_in.post(
        f"/dashboard/surveys/{survey.id}/edit",
        data=form_for(survey, signed_in, voice="Polly.Amy", language="en-GB"),
    )
    db.session.expire_all()
    assert survey.active_version is not None
    assert (survey.active_version.voice, survey.active_version.language) == ("Polly.Amy", "en-GB")


def test_create_survey_belongs_to_the_managers_team(app: Flask, client: Any) -> None:
    """A manager's new survey gets their team and a first version."""
    team = make_team("Sales")
    login(client, make_user(Role.MANAGER, team))
    token = csrf_token(client, "/dashboard/surveys")
    response = client.post(
        "/dashboard/surveys", data={"csrf_token": token, "name": "Sales follow-up", "slug": "sales"}
    )
    assert response.status_code == 302
    survey = db.session.scalar(db.select(Survey).where(Survey.slug == "sales"))
    assert survey is not None and survey.team_id == team.id
    assert survey.active_version is not None and len(survey.active_version.questions) == 3


def test_duplicate_slug_is_refused(app: Flask, signed_in: Any) -> None:
    """A slug already in use is reported, nothing is created."""
    token = csrf_token(signed_in, "/dashboard/surveys")
    response = signed_in.post(
        "/dashboard/surveys", data={"csrf_token": token, "name": "Copy", "slug": "post-call"}
    )
    assert response.status_code == 400
    assert "already uses this slug" in response.get_data(as_text=True)


def test_other_teams_survey_cannot_be_edited(app: Flask, client: Any) -> None:
    """A manager of another team gets 403 on the editor."""
    survey = demo_survey()
    survey.team_id = make_team("Owners").id
    db.session.commit()
    login(client, make_user(Role.MANAGER, make_team("Others")))
    assert client.get(f"/dashboard/surveys/{survey.id}/edit").status_code == 403


def test_forged_post_without_csrf_token_is_rejected(app: Flask, signed_in: Any) -> None:
    """A form post without the CSRF token is refused and changes nothing."""
    survey = demo_survey()
    data = form_for(survey, signed_in, **{"q-0-prompt": NEW_PROMPT})
    del data["csrf_token"]
    response = signed_in.post(f"/dashboard/surveys/{survey.id}/edit", data=data)
    assert response.status_code == 400
    assert versions(survey) == 1
