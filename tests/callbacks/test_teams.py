"""Teams in the agents' console: people see and act on their own team's callback tasks only.

Billing owns one survey and Support another. Outsiders of a Billing task are a Support
agent, a Support manager (managers may act on tasks others hold) and an agent of no team;
each gets the same 404 as for a task that does not exist, and the task is left unchanged.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import Any

import pytest
from flask import Flask

from callbacks import actions, evaluation
from callbacks.models import CallbackAttempt, CallbackTask, TaskState
from core.db import db, utcnow
from core.models import (
    CallbackRules,
    Question,
    QuestionKind,
    Role,
    Survey,
    SurveyVersion,
    Team,
    User,
)
from tests.callbacks.conftest import AGENT_PHONE, add_comment, reload_task
from tests.factories import csrf_token, finished_session, login, make_user, sequence

BILLING_PHONE = "+14155550123"
SUPPORT_PHONE = "+14155550177"
BILLING_WORDS = "The invoice was wrong twice and nobody fixed it."
SUPPORT_WORDS = "The hold music went on for ages."
MISSING = "There is no callback task"


def make_team(name: str) -> Team:
    team = Team(name=name)
    db.session.add(team)
    db.session.commit()
    return team


def team_survey(team: Team | None, slug: str) -> Survey:
    """A one-question survey (NPS, low at 6 or below) owned by ``team``."""
    survey = Survey(slug=slug, name=f"{slug} survey", team_id=team.id if team else None)
    version = SurveyVersion(
        survey=survey,
        number=1,
        greeting="Hello.",
        disclosure="We record.",
        comment_prompt="Tell us.",
        goodbye="Bye.",
        rules=CallbackRules().to_json(),
    )
    version.questions.append(
        Question(position=0, key="nps", kind=QuestionKind.NPS, prompt="0 to 10?", low_threshold=6)
    )
    db.session.add_all([survey, version])
    db.session.flush()
    survey.active_version = version
    db.session.commit()
    return survey


def task_for_survey(
    survey: Survey, phone: str, nps: int = 2, comment: str | None = None
) -> CallbackTask:
    """A finished call to ``survey`` with a low NPS, through the callback rules."""
    session = finished_session(survey=survey, phone=phone, scores={"nps": nps})
    db.session.commit()
    if comment is not None:
        add_comment(session, comment)
    task = evaluation.evaluate_session(session.id)
    assert task is not None
    return task


class Teams:
    """Two teams with a survey each, and people in, outside of and above them (made when
    first used: each costs a password hash)."""

    def __init__(self) -> None:
        self.billing, self.support = make_team("Billing"), make_team("Support")
        self.billing_survey = team_survey(self.billing, "billing")
        self.support_survey = team_survey(self.support, "support")

    @staticmethod
    def person(role: Role, team: Team | None) -> User:
        return make_user(
            role, team, email=f"{role.value}{next(sequence)}@example.com", phone=AGENT_PHONE
        )

    @cached_property
    def billing_agent(self) -> User:
        return self.person(Role.AGENT, self.billing)

    @cached_property
    def support_agent(self) -> User:
        return self.person(Role.AGENT, self.support)

    @cached_property
    def support_manager(self) -> User:
        return self.person(Role.MANAGER, self.support)

    @cached_property
    def teamless_agent(self) -> User:
        return self.person(Role.AGENT, None)

    @cached_property
    def admin(self) -> User:
        return self.person(Role.ADMIN, None)

    def outsider(self, which: str) -> User:
        user: User = getattr(self, which)
        return user


OUTSIDERS = ["support_agent", "support_manager", "teamless_agent"]


@pytest.fixture
def teams(app: Flask, any_time: None) -> Teams:
    return Teams()


@pytest.fixture
def billing_task(teams: Teams) -> CallbackTask:
    return task_for_survey(teams.billing_survey, BILLING_PHONE, comment=BILLING_WORDS)


def signed_in(client: Any, user: User) -> str:
    """Sign ``user`` in and return a CSRF token for their forms."""
    login(client, user)
    return csrf_token(client, "/callbacks/")


def queue_ids(client: Any) -> list[int]:
    response = client.get("/callbacks/queue.json")
    assert response.status_code == 200
    return [item["id"] for item in response.get_json()["callbacks"]]


# --- the queue ---------------------------------------------------------------------------


def test_queue_page_lists_the_own_teams_task(
    client: Any, teams: Teams, billing_task: CallbackTask
) -> None:
    """A Billing agent sees Billing's task, with its number, in the queue."""
    signed_in(client, teams.billing_agent)
    page = client.get("/callbacks/").get_data(as_text=True)
    assert BILLING_PHONE in page and f"/callbacks/{billing_task.id}" in page


@pytest.mark.parametrize("who", OUTSIDERS)
def test_queue_page_hides_another_teams_task(
    client: Any, teams: Teams, billing_task: CallbackTask, who: str
) -> None:
    """Outside Billing, the queue page shows neither the number nor a link to the task."""
    signed_in(client, teams.outsider(who))
    response = client.get("/callbacks/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Callback queue" in page
    assert BILLING_PHONE not in page and f"/callbacks/{billing_task.id}" not in page


def test_queue_json_lists_only_the_own_teams_tasks(
    client: Any, teams: Teams, billing_task: CallbackTask
) -> None:
    """With a task for each team, each team's agent gets exactly their own in the JSON."""
    support_task = task_for_survey(teams.support_survey, SUPPORT_PHONE)
    signed_in(client, teams.billing_agent)
    assert queue_ids(client) == [billing_task.id]
    client.get("/logout")
    signed_in(client, teams.support_agent)
    assert queue_ids(client) == [support_task.id]


def test_queue_json_is_empty_for_a_person_without_a_team(
    client: Any, teams: Teams, billing_task: CallbackTask
) -> None:
    """An agent of no team sees none of the teams' tasks."""
    task_for_survey(teams.support_survey, SUPPORT_PHONE)
    signed_in(client, teams.teamless_agent)
    assert queue_ids(client) == []


def test_admin_sees_every_teams_tasks(
    client: Any, teams: Teams, billing_task: CallbackTask
) -> None:
    """An admin's queue JSON holds both teams' tasks."""
    support_task = task_for_survey(teams.support_survey, SUPPORT_PHONE)
    signed_in(client, teams.admin)
    assert sorted(queue_ids(client)) == sorted([billing_task.id, support_task.id])


def test_unowned_surveys_tasks_are_for_people_without_a_team(client: Any, teams: Teams) -> None:
    """A survey with no team: its task is in the queue of an agent of no team."""
    task = task_for_survey(team_survey(None, "unowned"), SUPPORT_PHONE)
    signed_in(client, teams.teamless_agent)
    assert queue_ids(client) == [task.id]


def test_unowned_surveys_tasks_are_hidden_from_team_members(client: Any, teams: Teams) -> None:
    """A survey with no team: a team's agent neither lists nor opens its task."""
    task = task_for_survey(team_survey(None, "unowned"), SUPPORT_PHONE)
    signed_in(client, teams.billing_agent)
    assert queue_ids(client) == []
    assert client.get(f"/callbacks/{task.id}").status_code == 404


def test_queue_json_takes_the_same_queries_for_two_or_twelve_tasks(
    client: Any, teams: Teams, query_counter: list[str]
) -> None:
    """The team-scoped queue still loads scores and comments in bulk, not per task."""
    for n in range(2):
        task_for_survey(teams.billing_survey, f"+1415555{3000 + n:04d}")
    signed_in(client, teams.billing_agent)
    db.session.expire_all()  # as after any commit: the signed-in user is loaded again
    query_counter.clear()
    assert len(queue_ids(client)) == 2
    few = len(query_counter)
    for n in range(2, 12):
        task_for_survey(teams.billing_survey, f"+1415555{3000 + n:04d}")
    db.session.expire_all()
    query_counter.clear()
    assert len(queue_ids(client)) == 12
    assert len(query_counter) == few


# --- the task page -----------------------------------------------------------------------


def test_task_page_shows_the_own_teams_task(
    client: Any, teams: Teams, billing_task: CallbackTask
) -> None:
    """A Billing agent opens Billing's task: number and transcript."""
    signed_in(client, teams.billing_agent)
    response = client.get(f"/callbacks/{billing_task.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert BILLING_PHONE in page and "The invoice was wrong twice" in page


@pytest.mark.parametrize("who", OUTSIDERS)
def test_task_page_of_another_team_is_not_found(
    client: Any, teams: Teams, billing_task: CallbackTask, who: str
) -> None:
    """Outside Billing, the task page is a 404 without the number or the transcript."""
    signed_in(client, teams.outsider(who))
    response = client.get(f"/callbacks/{billing_task.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and f"{MISSING} {billing_task.id}" in page
    assert BILLING_PHONE not in page and "invoice" not in page


def test_another_teams_task_looks_like_a_missing_one(
    client: Any, teams: Teams, billing_task: CallbackTask
) -> None:
    """The 404 for another team's task reads the same as for an id nobody has."""
    signed_in(client, teams.support_agent)
    hidden = client.get(f"/callbacks/{billing_task.id}")
    unknown = client.get(f"/callbacks/{billing_task.id + 1000}")
    assert hidden.status_code == unknown.status_code == 404
    hidden_page = hidden.get_data(as_text=True).replace(f"{MISSING} {billing_task.id}", "")
    unknown_page = unknown.get_data(as_text=True).replace(f"{MISSING} {billing_task.id + 1000}", "")
    assert hidden_page == unknown_page


def test_admin_opens_any_teams_task(client: Any, teams: Teams, billing_task: CallbackTask) -> None:
    """An admin of no team opens Billing's task with its transcript."""
    signed_in(client, teams.admin)
    page = client.get(f"/callbacks/{billing_task.id}").get_data(as_text=True)
    assert BILLING_PHONE in page and "The invoice was wrong twice" in page


def test_an_id_beyond_the_column_is_not_found(client: Any, teams: Teams) -> None:
    """A task id too large for the database is a 404, not an error (PostgreSQL refuses it)."""
    signed_in(client, teams.billing_agent)
    response = client.get("/callbacks/99999999999999999999")
    assert response.status_code == 404 and MISSING in response.get_data(as_text=True)


def merge_support_call(teams: Teams, phone: str) -> CallbackTask | None:
    """A Support call with a low score and a quoted comment; one open task per customer,
    so it merges into the customer's task whatever team that is."""
    support_call = finished_session(survey=teams.support_survey, phone=phone, scores={"nps": 1})
    db.session.commit()
    add_comment(support_call, SUPPORT_WORDS)
    return evaluation.evaluate_session(support_call.id)


def test_task_page_hides_another_teams_calls_merged_into_it(
    client: Any, teams: Teams, billing_task: CallbackTask
) -> None:
    """A later Support call by the same customer merges in; Billing sees not its words or score."""
    assert merge_support_call(teams, BILLING_PHONE) is billing_task
    signed_in(client, teams.billing_agent)
    page = client.get(f"/callbacks/{billing_task.id}").get_data(as_text=True)
    assert "The invoice was wrong twice" in page and "NPS 2" in page
    assert "hold music" not in page and "NPS 1" not in page


def test_queue_hides_another_teams_calls_merged_into_a_task(
    client: Any, teams: Teams, billing_task: CallbackTask
) -> None:
    """In Billing's queue, a merged Support call adds neither its score nor its quoted words."""
    merge_support_call(teams, BILLING_PHONE)
    signed_in(client, teams.billing_agent)
    assert "hold music" not in client.get("/callbacks/").get_data(as_text=True)
    [item] = client.get("/callbacks/queue.json").get_json()["callbacks"]
    assert item["scores"] == {"nps": 2}
    assert "hold music" not in str(item["reasons"]) and item["reasons"][0]["code"] == "low_nps"


def test_task_page_history_leaves_out_another_teams_calls_and_tasks(
    client: Any, teams: Teams
) -> None:
    """The customer's earlier Support call and callback are not in Billing's history."""
    earlier = task_for_survey(teams.support_survey, BILLING_PHONE, nps=1)
    actions.claim(earlier.id, teams.support_agent)
    actions.record_outcome(earlier.id, teams.support_agent, "wrong_number")
    billing_task = task_for_survey(teams.billing_survey, BILLING_PHONE, nps=4)
    assert billing_task.id != earlier.id
    signed_in(client, teams.billing_agent)
    page = client.get(f"/callbacks/{billing_task.id}").get_data(as_text=True)
    assert f'href="/callbacks/{earlier.id}"' not in page
    assert "NPS 4" in page and "NPS 1" not in page


# --- actions -----------------------------------------------------------------------------


def post(client: Any, task: CallbackTask, action: str, token: str) -> Any:
    """The console form for ``action``, filled in as an agent would."""
    at = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    fields = {
        "claim": {},
        "call": {},
        "release": {},
        "outcome": {"outcome": "wrong_number", "notes": "Not their number."},
        "reschedule": {"at": at},
    }[action]
    return client.post(f"/callbacks/{task.id}/{action}", data={"csrf_token": token, **fields})


# Claim and reschedule act on a waiting task; the others on a task the actor holds.
HELD = {"call", "release", "outcome"}
ACTIONS = ["claim", "call", "release", "outcome", "reschedule"]
DONE = {
    "claim": "You claimed task",
    "call": "Calling your phone",
    "release": "is back in the queue",
    "outcome": "Outcome recorded: Wrong number.",
    "reschedule": "rescheduled",
}


def snapshot(task_id: int) -> tuple[Any, ...]:
    task = reload_task(task_id)
    attempts = db.session.scalar(
        db.select(db.func.count()).where(CallbackAttempt.task_id == task_id)
    )
    return task.state, task.claimed_by_id, task.scheduled_for, task.notes, attempts


@pytest.mark.parametrize("action", ACTIONS)
def test_own_team_agent_can_act_on_the_task(
    client: Any, teams: Teams, billing_task: CallbackTask, action: str
) -> None:
    """Each console action works for an agent of the task's team."""
    if action in HELD:
        actions.claim(billing_task.id, teams.billing_agent)
    token = signed_in(client, teams.billing_agent)
    response = post(client, billing_task, action, token)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert DONE[action] in page


@pytest.mark.parametrize("who", OUTSIDERS)
@pytest.mark.parametrize("action", ACTIONS)
def test_outsider_cannot_act_on_another_teams_task(
    client: Any, teams: Teams, billing_task: CallbackTask, action: str, who: str
) -> None:
    """Each console action on Billing's task is a 404 for an outsider and changes nothing.

    For call, release and outcome the outsider even holds the task (claimed before they
    moved team), so only the team check stands in the way.
    """
    outsider = teams.outsider(who)
    if action in HELD:
        actions.claim(billing_task.id, outsider)
    before = snapshot(billing_task.id)
    token = signed_in(client, outsider)
    response = post(client, billing_task, action, token)
    assert response.status_code == 404
    assert f"{MISSING} {billing_task.id}" in response.get_data(as_text=True)
    assert snapshot(billing_task.id) == before


@pytest.mark.parametrize("action", ACTIONS)
def test_admin_can_act_on_any_teams_task(
    client: Any, teams: Teams, billing_task: CallbackTask, action: str
) -> None:
    """Each console action works for an admin on Billing's task."""
    if action in HELD:
        actions.claim(billing_task.id, teams.admin)
    token = signed_in(client, teams.admin)
    response = post(client, billing_task, action, token)
    assert response.status_code == 302
    assert DONE[action] in client.get(response.headers["Location"]).get_data(as_text=True)


def test_every_console_route_naming_a_task_is_team_scoped(
    app: Flask, client: Any, teams: Teams, billing_task: CallbackTask
) -> None:
    """Any console URL with a task id, including ones added later, is a 404 for an outsider."""
    token = signed_in(client, teams.support_agent)
    rules = [
        r
        for r in app.url_map.iter_rules()
        if r.endpoint.startswith("callbacks.") and "task_id" in r.arguments
    ]
    assert len(rules) >= 6
    for rule in rules:
        url = rule.build({"task_id": billing_task.id})[1]
        method = "POST" if "POST" in (rule.methods or ()) else "GET"
        response = client.open(url, method=method, data={"csrf_token": token})
        assert response.status_code == 404, f"{method} {url}"
    assert reload_task(billing_task.id).state is TaskState.OPEN


def test_signing_in_comes_before_the_team_check(
    client: Any, teams: Teams, billing_task: CallbackTask
) -> None:
    """Signed out, a task URL sends the visitor to sign in rather than answering 404."""
    response = client.get(f"/callbacks/{billing_task.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
