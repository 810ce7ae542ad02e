"""Theming as comments arrive, on the database: stable from day to day, new themes only at
the minimum size, try-it calls left out, erased callers forgotten."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from core.db import db
from core.models import Recording
from dashboard.erasure import erase_caller
from tests.themes.conftest import NOW, by_topic, said
from themes import assign, grouping
from themes.models import Theme, ThemeComment


def theme_of(recording_id: int) -> int | None:
    db.session.expire_all()
    return db.session.scalar(
        select(ThemeComment.theme_id).where(ThemeComment.recording_id == recording_id)
    )


def recording_of(session_id: int) -> int:
    found = db.session.scalar(select(Recording.id).where(Recording.session_id == session_id))
    assert found is not None
    return found


def live() -> list[Theme]:
    db.session.expire_all()
    return list(db.session.scalars(select(Theme).where(Theme.size > 0).order_by(Theme.id)))


def test_alike_comments_start_a_theme_named_from_their_words(app: Flask) -> None:
    """Four comments about refunds become one theme, named for refunds."""
    for text in by_topic()["refund"][:4]:
        said(text)
    report = assign.assign_new(now=NOW)
    assert (report.read, report.new_themes, report.waiting) == (4, 1, 0)
    [theme] = live()
    assert theme.size == 4 and "refund" in theme.name.lower()


def test_two_alike_comments_wait_for_a_third(app: Flask) -> None:
    """Below MIN_THEME_SIZE nothing is a theme yet; the third comment makes one."""
    texts = by_topic()["delivery"]
    first = [said(t) for t in texts[:2]]
    assert assign.assign_new(now=NOW).waiting == 2
    assert live() == []
    said(texts[2])
    assign.assign_new(now=NOW)
    [theme] = live()
    assert theme.size == grouping.MIN_THEME_SIZE
    assert all(theme_of(recording_of(s.id)) == theme.id for s in first)


def test_a_comment_keeps_its_theme_from_day_to_day(app: Flask) -> None:
    """Day 2's comments join day 1's themes; day 1's comments and names do not change."""
    refund, hold = by_topic()["refund"], by_topic()["hold_time"]
    yesterday = NOW - timedelta(days=1)
    day1 = [said(t, yesterday) for t in refund[:4] + [hold[i] for i in (0, 2, 3, 4)]]
    assign.assign_new(now=yesterday)
    before = {s.id: theme_of(recording_of(s.id)) for s in day1}
    names = {t.id: t.name for t in live()}
    assert len(names) == 2 and set(before.values()) == set(names)

    late = [said(t) for t in (refund[4], refund[7], hold[7], hold[8])]
    report = assign.assign_new(now=NOW)
    assert report.joined == 4 and report.new_themes == 0
    assert {s.id: theme_of(recording_of(s.id)) for s in day1} == before
    assert {t.id: t.name for t in live()} == names
    themes_of_late = [theme_of(recording_of(s.id)) for s in late]
    assert themes_of_late == [before[day1[0].id]] * 2 + [before[day1[4].id]] * 2


def test_a_theme_is_named_again_when_it_doubles(app: Flask) -> None:
    """A machine name is chosen again once the theme has twice the comments it was named with."""
    texts = by_topic()["hold_time"]
    for text in texts[:3]:
        said(text)
    assign.assign_new(now=NOW)
    [theme] = live()
    assert theme.named_at_size == 3
    for text in texts[3:6]:
        said(text)
    assert assign.assign_new(now=NOW).renamed == 1
    [theme] = live()
    assert theme.named_at_size == 6


def test_try_it_calls_are_never_themed(app: Flask) -> None:
    """A manager's test call through Try it does not shape what callers talk about."""
    for text in by_topic()["refund"][:4]:
        said(text, is_test=True)
    assert assign.assign_new(now=NOW).read == 0
    assert live() == []


def test_running_again_changes_nothing(app: Flask) -> None:
    """The job is safe to run any number of times (after each recording, and every 5 min)."""
    for text in by_topic()["price_rise"][:4]:
        said(text)
    assign.assign_new(now=NOW)
    again = assign.assign_new(now=NOW)
    assert (again.read, again.joined, again.new_themes) == (0, 0, 0)
    [theme] = live()
    assert theme.size == 4


def test_an_erased_caller_leaves_the_theme(app: Flask) -> None:
    """After "delete this caller's data" the comment and its embedding are gone from themes."""
    texts = by_topic()["refund"]
    for n, text in enumerate(texts[:4]):
        said(text, phone=f"+1415555020{n}")
    assign.assign_new(now=NOW)
    erase_caller("+14155550200", None)
    [theme] = live()  # at once, not at the next run
    assert theme.size == 3
    assert assign.assign_new(now=NOW).forgotten == 0
    [theme] = live()
    assert theme.size == 3
    assert db.session.scalar(select(db.func.count(ThemeComment.id))) == 3
