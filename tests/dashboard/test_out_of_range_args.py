"""Ids past an id column and days at the calendar's ends, in the dashboard's query strings
and paths: the page as if the filter were not given, or a 404, never a 500 (PostgreSQL
refuses ids past INTEGER, SQLite past 64 bits, and Python cannot step past year 9999)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from core.models import Role
from tests.factories import login, make_user

HUGE = "9" * 30  # past every integer column, on both databases
PAST_INTEGER = "2147483648"  # PostgreSQL's INTEGER ends at 2147483647


@pytest.fixture
def admin(client: Any, app: Flask) -> Any:
    login(client, make_user(Role.ADMIN))
    return client


@pytest.mark.parametrize(
    "query",
    [
        f"/dashboard/?survey={HUGE}",
        f"/dashboard/?agent={PAST_INTEGER}",
        f"/dashboard/?theme={HUGE}",
        "/dashboard/?to=9999-12-31",
        f"/dashboard/flagged.csv?survey={PAST_INTEGER}&to=9999-12-31",
        f"/dashboard/trends?survey={HUGE}",
        "/dashboard/trends?to=0001-01-01",
        "/dashboard/trends?from=9999-12-31",
        f"/dashboard/audit?user={HUGE}",
        "/dashboard/audit?to=9999-12-31",
        "/dashboard/audit.csv?to=9999-12-31",
    ],
)
def test_a_filter_out_of_range_is_ignored(admin: Any, query: str) -> None:
    """The page (or its CSV) answers as without that filter."""
    assert admin.get(query).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        f"/dashboard/calls/{HUGE}",
        f"/dashboard/calls/{PAST_INTEGER}",
        f"/dashboard/recordings/{PAST_INTEGER}/audio",
        f"/dashboard/surveys/{HUGE}/edit",
        f"/dashboard/surveys/{PAST_INTEGER}/try",
    ],
)
def test_an_id_past_the_column_is_not_found(admin: Any, path: str) -> None:
    """A call, recording or survey id no row can have is a 404, as a missing one."""
    assert admin.get(path).status_code == 404
