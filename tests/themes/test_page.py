"""The Themes page for managers: ranked themes with their figures and the callers' words,
team-scoped; rename and merge with CSRF; the link into the flagged list."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from core.db import db, utcnow
from core.models import Role, User
from tests.dashboard.conftest import make_team
from tests.factories import csrf_token, login, make_user
from tests.themes.conftest import NOW, by_topic, said
from themes import assign
from themes.models import Theme


def seed() -> None:
    """Five refund comments (low scores, so flagged) and three thanking the agent (NPS 9)."""
    topics = by_topic()
    now = utcnow()
    for n, text in enumerate(topics["refund"][:5]):
        said(text, now - timedelta(days=n + 1), nps=2 + n % 2)
    for n, text in enumerate([topics["helpful_agent"][i] for i in (2, 4, 5)]):
        said(text, now - timedelta(days=n + 1), nps=9)
    assign.assign_new(now=now)


def rows(page: str) -> list[str]:
    return re.findall(r'<tr data-theme="\d+">(.*?)</tr>', page, re.S)


def test_themes_are_ranked_by_volume_with_their_figures(app: Flask, signed_in: Any) -> None:
    """Largest first, with count, flagged share, average NPS and three quotes."""
    seed()
    page = signed_in.get("/dashboard/themes").get_data(as_text=True)
    first, second = rows(page)
    assert "Refund" in first and 'data-col="count">5<' in first
    assert "100%" in first and ">2.4<" in first  # NPS 2,3,2,3,2
    assert len(re.findall(r'href="/dashboard/calls/\d+"', first)) == 3
    assert 'data-col="count">3<' in second and "0%" in second and ">9.0<" in second
    assert "<svg" in first and "comments per week" in first


def test_the_flagged_link_lists_only_that_themes_calls(app: Flask, signed_in: Any) -> None:
    """ "Flagged calls →" opens the flagged list filtered to the theme, named at the top."""
    seed()
    page = signed_in.get("/dashboard/themes").get_data(as_text=True)
    link = re.search(r'href="(/dashboard/\?[^"]*theme=\d+[^"]*)">Flagged calls', page)
    assert link is not None
    flagged = signed_in.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "5 flagged calls" in flagged and "Theme: <b>Refund" in flagged


def test_a_manager_renames_a_theme(app: Flask, signed_in: Any) -> None:
    """The form (with its CSRF token) renames it; the page shows the new name."""
    seed()
    theme = db.session.scalars(select(Theme).order_by(Theme.size.desc())).first()
    assert theme is not None
    token = csrf_token(signed_in, "/dashboard/themes")
    response = signed_in.post(
        f"/dashboard/themes/{theme.id}/rename",
        data={"name": "Refunds still owed", "csrf_token": token, "days": "28"},
        follow_redirects=True,
    )
    assert "Refunds still owed" in rows(response.get_data(as_text=True))[0]


def test_renaming_without_the_csrf_token_is_refused(app: Flask, signed_in: Any) -> None:
    """A forged form post changes nothing."""
    seed()
    theme = db.session.scalars(select(Theme)).first()
    assert theme is not None
    response = signed_in.post(f"/dashboard/themes/{theme.id}/rename", data={"name": "x"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Theme, theme.id).name != "x"


def test_a_manager_merges_two_themes(app: Flask, signed_in: Any) -> None:
    """Merging the thanks into refunds leaves one theme with all eight comments."""
    seed()
    big, small = db.session.scalars(select(Theme).order_by(Theme.size.desc())).all()
    token = csrf_token(signed_in, "/dashboard/themes")
    response = signed_in.post(
        f"/dashboard/themes/{small.id}/merge",
        data={"into": str(big.id), "csrf_token": token},
        follow_redirects=True,
    )
    [row] = rows(response.get_data(as_text=True))
    assert 'data-col="count">8<' in row


def test_another_teams_manager_sees_none_of_it(app: Flask, client: Any) -> None:
    """Themes count only calls the manager may see; another team's manager sees none."""
    seed()
    billing = make_team("Billing")
    outsider = make_user(Role.MANAGER, team=billing)
    login(client, outsider)
    page = client.get("/dashboard/themes").get_data(as_text=True)
    assert rows(page) == []
    theme = db.session.scalars(select(Theme)).first()
    assert theme is not None
    token = csrf_token(client, "/dashboard/themes")
    client.post(
        f"/dashboard/themes/{theme.id}/rename", data={"name": "Mine now", "csrf_token": token}
    )
    db.session.expire_all()
    assert db.session.get(Theme, theme.id).name != "Mine now"


def test_agents_cannot_open_the_page(app: Flask, client: Any) -> None:
    """Themes are for managers and admins."""
    agent: User = make_user(Role.AGENT)
    login(client, agent)
    assert client.get("/dashboard/themes").status_code == 403


def test_the_quotes_are_three_different_comments(app: Flask, signed_in: Any, at_now: None) -> None:
    """Callers who said the very same words are quoted once."""
    refund = by_topic()["refund"]
    for text in [refund[4]] * 4 + refund[:3]:
        said(text)
    assign.assign_new(now=NOW)
    [row] = rows(signed_in.get("/dashboard/themes").get_data(as_text=True))
    quotes = re.findall(r'title="Open the call: audio and transcript">(.*?)</a>', row)
    assert len(quotes) == 3 and len(set(quotes)) == 3
