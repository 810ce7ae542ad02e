"""`flask themes rebuild` recomputes every theme and keeps what people and earlier days
decided: comments' themes, managers' names and merges."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from core.db import db
from core.models import Role
from tests.factories import make_user
from tests.themes.conftest import NOW, by_topic, said
from themes import assign, manage
from themes.models import Theme, ThemeComment
from themes.rebuild import rebuild


def assignments() -> dict[int, int | None]:
    db.session.expire_all()
    rows = db.session.execute(select(ThemeComment.recording_id, ThemeComment.theme_id)).all()
    return {recording_id: theme_id for recording_id, theme_id in rows}


def theme_named(word: str) -> Theme:
    db.session.expire_all()
    found = [t for t in db.session.scalars(select(Theme)) if word in t.name.lower()]
    assert len(found) == 1, [t.name for t in db.session.scalars(select(Theme))]
    return found[0]


def three_topics() -> None:
    topics = by_topic()
    for topic in ("refund", "internet_outage", "app_login"):
        for text in topics[topic][:5]:
            said(text)
    assign.assign_new(now=NOW)


def test_rebuilding_unchanged_comments_moves_none(app: Flask) -> None:
    """Same comments, same themes: every comment keeps its theme, every theme its id."""
    three_topics()
    before = assignments()
    names = {t.id: t.name for t in db.session.scalars(select(Theme))}
    report = rebuild(now=NOW)
    assert report.moved == 0 and report.created == 0
    assert assignments() == before
    assert {t.id: t.name for t in db.session.scalars(select(Theme))} == names


def test_a_managers_name_sticks_through_rebuilds(app: Flask) -> None:
    """Renamed "Refunds owed": still so after a rebuild, and after a fresh one."""
    three_topics()
    boss = make_user(Role.MANAGER)
    theme = theme_named("refund")
    manage.rename(theme.id, "Refunds owed", boss)
    rebuild(now=NOW)
    assert db.session.get(Theme, theme.id).name == "Refunds owed"
    rebuild(now=NOW, fresh=True)
    assert theme_named("refunds owed").id == theme.id


def test_a_merge_stays_merged_through_a_rebuild(app: Flask) -> None:
    """Merged broadband into app problems: a rebuild keeps both sets of comments together."""
    three_topics()
    boss = make_user(Role.MANAGER)
    broadband, app_theme = theme_named("broadband"), theme_named("app")
    both = {r for r, t in assignments().items() if t in (broadband.id, app_theme.id)}
    manage.merge(broadband.id, app_theme.id, boss)
    assert {r for r, t in assignments().items() if t == app_theme.id} == both
    rebuild(now=NOW)
    assert {r for r, t in assignments().items() if t == app_theme.id} == both
    db.session.expire_all()
    assert db.session.get(Theme, broadband.id).merged_into_id == app_theme.id
    assert db.session.get(Theme, app_theme.id).size == len(both)


def test_a_first_rebuild_reads_and_groups_every_comment(app: Flask) -> None:
    """With no themes yet, the rebuild embeds every comment and finds the three topics."""
    topics = by_topic()
    for topic in ("refund", "internet_outage", "app_login"):
        for text in topics[topic][:5]:
            said(text)
    report = rebuild(now=NOW)
    assert (report.comments, report.themes) == (15, 3)
    assert report.unthemed <= 3  # a vague comment may wait for alike ones


def test_the_rebuild_command_says_what_it_did(app: Flask) -> None:
    """`flask themes rebuild` prints the counts and the time each step took."""
    three_topics()
    result = app.test_cli_runner().invoke(args=["themes", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "15 comments in 3 themes (3 kept, 0 new)" in result.output
    assert "clustering" in result.output
