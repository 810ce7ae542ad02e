"""Who sees which calls in the dashboard.

The rule itself (admins see all, everyone else their own team's surveys, people without a
team the surveys without one) lives in ``core.access`` so the callbacks console applies the
very same one; it is re-exported here for the dashboard's pages.
"""

from __future__ import annotations

from core.access import can_see_session, can_see_survey, scoped_sessions, survey_scope
from core.db import db
from core.models import Role, Survey, User

__all__ = [
    "can_see_session",
    "can_see_survey",
    "scoped_sessions",
    "survey_scope",
    "visible_agents",
    "visible_surveys",
]


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
