"""Who may see which survey's calls: the one rule, used by the dashboard and the callbacks.

* Admins see everything.
* Everyone else sees the surveys of their own team.
* A survey without a team belongs to the people without a team (a fresh install, the demo):
  they see it, people in a team do not. So nobody ever sees another team's calls, and
  giving someone a team takes away the unowned calls rather than adding them.
* A call with no survey version (it never got far enough to pick one) is for admins only.

Each form below states the same rule: ``survey_scope`` / ``session_scope`` for SQL, and
``can_see_survey`` / ``can_see_session`` for a row already loaded.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import ColumnElement, Select, select, true

from core.models import CallSession, Role, Survey, SurveyVersion, User


def survey_scope(user: User) -> ColumnElement[bool]:
    """Condition on ``Survey`` limiting rows to what ``user`` may see."""
    if user.role is Role.ADMIN:
        return true()
    if user.team_id is None:
        return Survey.team_id.is_(None)
    return Survey.team_id == user.team_id


def session_scope(user: User) -> ColumnElement[bool]:
    """Condition on ``CallSession`` without joining, so a caller keeps its own joins and
    eager loads (the callback queue loads sessions in bulk)."""
    if user.role is Role.ADMIN:
        return true()
    visible_versions = (
        select(SurveyVersion.id)
        .join(Survey, SurveyVersion.survey_id == Survey.id)
        .where(survey_scope(user))
    )
    return CallSession.survey_version_id.in_(visible_versions)


SelectT = TypeVar("SelectT", bound=Select)


def scoped_sessions(stmt: SelectT, user: User) -> SelectT:
    """Join a ``CallSession`` select to its survey and keep the user's team's calls."""
    return (
        stmt.join(SurveyVersion, CallSession.survey_version_id == SurveyVersion.id)
        .join(Survey, SurveyVersion.survey_id == Survey.id)
        .where(survey_scope(user))
    )


def can_see_survey(user: User, survey: Survey | None) -> bool:
    if user.role is Role.ADMIN:
        return True
    if survey is None:
        return False
    return survey.team_id == user.team_id


def can_see_session(user: User, session: CallSession) -> bool:
    version = session.survey_version
    return can_see_survey(user, version.survey if version else None)
