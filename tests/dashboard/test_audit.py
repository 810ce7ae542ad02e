"""The admins' audit page: plays and downloads, erasures and list changes; filters, CSV,
paging, and never a phone number."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from core import suppression
from core.db import db
from core.models import Event, Role, User
from dashboard import audit
from tests.dashboard.conftest import make_session
from tests.factories import csrf_token, login, make_user

CALLER = "+14155550166"


@pytest.fixture
def admin(app: Flask) -> User:
    return make_user(Role.ADMIN, email="admin@example.com")


def rows_of(page: str) -> str:
    """The table part of the audit page."""
    return page.split('id="audit-rows"')[1].split("</table>")[0]


def listen(client: Any, manager: User, recordings_dir: Path, *, download: bool = False) -> int:
    """The manager plays (or downloads) a comment; the recording's id."""
    session = make_session(phone=CALLER, nps=2, comment="It was fine.", audio_dir=recordings_dir)
    rec_id = session.recordings[0].id
    login(client, manager)
    suffix = "?download=1" if download else ""
    assert client.get(f"/dashboard/recordings/{rec_id}/audio{suffix}").status_code == 200
    return int(rec_id)


def audit_page(client: Any, admin: User, query: str = "") -> str:
    login(client, admin)
    response = client.get(f"/dashboard/audit{query}")
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def event_at(kind: str, day: str, user: User | None = None, **data: Any) -> None:
    db.session.add(
        Event(
            kind=kind,
            at=datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC),
            user_id=user.id if user else None,
            data=data,
        )
    )
    db.session.commit()


def test_a_play_shows_who_listened_to_which_recording(
    app: Flask, client: Any, manager: User, admin: User, recordings_dir: Path
) -> None:
    """A manager's play is listed with their e-mail and the recording and call."""
    rec_id = listen(client, manager, recordings_dir)
    rows = rows_of(audit_page(client, admin))
    assert "Played recording" in rows and "boss@example.com" in rows
    assert f"recording #{rec_id}" in rows


def test_a_download_is_listed_as_a_download(
    app: Flask, client: Any, manager: User, admin: User, recordings_dir: Path
) -> None:
    """Downloading the audio file is its own kind of row."""
    listen(client, manager, recordings_dir, download=True)
    assert "Downloaded recording" in rows_of(audit_page(client, admin))


def test_an_erasure_shows_who_and_the_hash_but_not_the_number(
    app: Flask, client: Any, manager: User, admin: User
) -> None:
    """The erasure row names the manager and the number's hash, never the number."""
    make_session(phone=CALLER, nps=2)
    login(client, manager)
    token = csrf_token(client, "/dashboard/privacy")
    client.post("/dashboard/privacy", data={"phone": CALLER, "confirm": "yes", "csrf_token": token})
    rows = rows_of(audit_page(client, admin))
    assert "Erased caller" in rows and "boss@example.com" in rows
    assert suppression.number_hash(CALLER)[:12] in rows
    assert "5550166" not in rows


def test_list_changes_and_opt_outs_show_who_made_them(app: Flask, client: Any, admin: User) -> None:
    """A do-not-call entry by an admin and an opt-out by the caller are both listed."""
    suppression.add(CALLER, "do_not_call", "dashboard", admin.id)
    suppression.add("+14155550167", "opt_out", "keypad")
    db.session.commit()
    rows = rows_of(audit_page(client, admin))
    assert "Added to do-not-call" in rows and "admin@example.com" in rows
    assert "Opted out" in rows and "the caller" in rows


def test_filtering_by_kind_shows_only_that_kind(app: Flask, client: Any, admin: User) -> None:
    """kind=dnc lists do-not-call changes and hides plays."""
    event_at("dnc.added", "2026-03-02", admin, number_hash="a" * 64, source="api")
    event_at("recording.played", "2026-03-02", admin, recording_id=1)
    rows = rows_of(audit_page(client, admin, "?kind=dnc"))
    assert "Added to do-not-call" in rows and "Played recording" not in rows


def test_filtering_by_person_shows_only_theirs(
    app: Flask, client: Any, admin: User, manager: User
) -> None:
    """user=<id> lists what that person did and nobody else's."""
    event_at("recording.played", "2026-03-02", manager, recording_id=1)
    event_at("recording.downloaded", "2026-03-02", admin, recording_id=2)
    rows = rows_of(audit_page(client, admin, f"?user={manager.id}"))
    assert "Played recording" in rows and "Downloaded recording" not in rows


def test_filtering_by_dates_includes_the_whole_last_day(
    app: Flask, client: Any, admin: User
) -> None:
    """from/to are whole UTC days: events on the "to" day count, later ones do not."""
    event_at("recording.played", "2026-03-01", admin, recording_id=1)
    event_at("recording.played", "2026-03-03", admin, recording_id=3)
    event_at("recording.played", "2026-03-04", admin, recording_id=4)
    rows = rows_of(audit_page(client, admin, "?from=2026-03-02&to=2026-03-03"))
    assert "recording #3" in rows
    assert "recording #1" not in rows and "recording #4" not in rows


def test_csv_export_has_every_filtered_row(app: Flask, client: Any, admin: User) -> None:
    """The CSV carries the filtered rows of every page, with hashes and no numbers."""
    for n in range(audit.PER_PAGE + 2):
        event_at("dnc.added", "2026-03-02", admin, number_hash=f"{n:064d}", source="import")
    event_at("recording.played", "2026-03-02", admin, recording_id=1)
    login(client, admin)
    response = client.get("/dashboard/audit.csv?kind=dnc")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == audit.PER_PAGE + 2
    assert {r["what"] for r in rows} == {"Added to do-not-call"}
    assert rows[0]["who"] == "admin@example.com" and len(rows[0]["number_hash"]) == 64


def test_the_trail_is_paged_newest_first(app: Flask, client: Any, admin: User) -> None:
    """More than a page of events goes onto a second page, oldest last."""
    event_at("recording.played", "2026-03-01", admin, recording_id=999)
    for _ in range(audit.PER_PAGE):
        event_at("recording.played", "2026-03-02", admin, recording_id=5)
    first = audit_page(client, admin)
    assert "page 1 of 2" in first and "recording #999" not in rows_of(first)
    second = rows_of(audit_page(client, admin, "?page=2"))
    assert "recording #999" in second


def test_managers_may_not_see_the_trail(app: Flask, client: Any, manager: User) -> None:
    """The audit page and its export are for admins only."""
    login(client, manager)
    assert client.get("/dashboard/audit").status_code == 403
    assert client.get("/dashboard/audit.csv").status_code == 403
