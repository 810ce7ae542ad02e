"""Who sees which calls: admins see all, everyone else the surveys of their own team.

A person without a team sees the surveys that have no team (a fresh install, the demo).
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import ColumnElement, Select, true

from core.db import db
from core.models import CallSession, Role, Survey, SurveyVersion, User


def survey_scope(user: User) -> ColumnElement[bool]:
    """Condition on ``Survey`` limiting rows to what ``user`` may see."""
    if user.role is Role.ADMIN:
        return true()
    if user.team_id is None:
        return Survey.team_id.is_(None)
    return Survey.team_id == user.team_id


SelectT = TypeVar("SelectT", bound=Select)


def scoped_sessions(stmt: SelectT, user: User) -> SelectT:
    """Join a ``CallSession`` select to its survey and keep the user's team's calls."""
    return (
        stmt.join(SurveyVersion, CallSession.survey_version_id == SurveyVersion.id)
        .join(Survey, SurveyVersion.survey_id == Survey.id)
        .where(survey_scope(user))
    )


def can_see_survey(user: User, survey: Survey | None) -> bool:
    if survey is None:
        return user.role is Role.ADMIN
    if user.role is Role.ADMIN:
        return True
    return survey.team_id == user.team_id


def can_see_session(user: User, session: CallSession) -> bool:
    version = session.survey_version
    return can_see_survey(user, version.survey if version else None)


def visible_surveys(user: User) -> list[Survey]:
    return list(
        db.session.scalars(db.select(Survey).where(survey_scope(user)).order_by(Survey.name))
    )


def visible_agents(user: User) -> list[User]:
    """Agents a person may filter by: their team's (everyone's for admins)."""
    stmt = db.select(User).where(User.role == Role.AGENT).order_by(User.email)
    if user.role is not Role.ADMIN:
        stmt = stmt.where(
            User.team_id == user.team_id if user.team_id is not None else User.team_id.is_(None)
        )
    return list(db.session.scalars(stmt))
