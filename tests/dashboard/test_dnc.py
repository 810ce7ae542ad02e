"""The do-not-call list: the admin page (add, remove, CSV import) and the bearer API
(/api/dnc, /api/contacts), each change audited with the hash, never the number."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask import Flask

from core import suppression
from core.db import db
from core.models import Event, Role, User
from tests.conftest import API_TOKEN
from tests.dashboard.conftest import make_session
from tests.factories import csrf_token, login, make_user

NUMBER = "+14155550188"
OTHER = "+14155550189"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
def admin(app: Flask) -> User:
    return make_user(Role.ADMIN, email="admin@example.com")


@pytest.fixture
def as_admin(client: Any, admin: User) -> Any:
    login(client, admin)
    return client


def post_form(client: Any, action: str, number: str) -> Any:
    token = csrf_token(client, "/dashboard/dnc")
    return client.post(
        f"/dashboard/dnc/{action}",
        data={"number": number, "csrf_token": token},
        follow_redirects=True,
    )


def upload(client: Any, content: bytes, name: str = "numbers.csv") -> Any:
    token = csrf_token(client, "/dashboard/dnc")
    return client.post(
        "/dashboard/dnc/import",
        data={"file": (io.BytesIO(content), name), "csrf_token": token},
        content_type="multipart/form-data",
    )


def events_of(*kinds: str) -> list[Event]:
    return list(db.session.scalars(db.select(Event).where(Event.kind.in_(kinds))))


# --- the page -----------------------------------------------------------------------------


def test_admin_adds_a_number_and_it_is_on_the_list(app: Flask, as_admin: Any) -> None:
    """Adding a number says so, and the number is then refused as do-not-call."""
    page = post_form(as_admin, "add", "(415) 555-0188").get_data(as_text=True)
    assert "+14155550188 is now on the do-not-call list." in page
    assert suppression.suppression_reason(NUMBER) == "do_not_call"


def test_adding_a_listed_number_again_says_it_was_already_there(app: Flask, as_admin: Any) -> None:
    """A second add of the same number changes nothing and says so."""
    post_form(as_admin, "add", NUMBER)
    page = post_form(as_admin, "add", NUMBER).get_data(as_text=True)
    assert "was already on the do-not-call list" in page
    assert len(events_of("dnc.added")) == 1


def test_the_list_shows_the_hash_never_the_number(app: Flask, as_admin: Any) -> None:
    """The page lists when, how and by whom an entry was made, with the hash only."""
    post_form(as_admin, "add", NUMBER)
    page = as_admin.get("/dashboard/dnc").get_data(as_text=True)
    listing = page.split('id="dnc-entries"')[1]
    assert suppression.number_hash(NUMBER)[:12] in listing
    assert "admin@example.com" in listing and "dashboard" in listing
    assert "5550188" not in listing


def test_admin_removes_a_number(app: Flask, as_admin: Any) -> None:
    """Removing a listed number says so, and the number may be called again."""
    post_form(as_admin, "add", NUMBER)
    page = post_form(as_admin, "remove", NUMBER).get_data(as_text=True)
    assert "+14155550188 was removed from the do-not-call list." in page
    assert suppression.suppression_reason(NUMBER) is None


def test_removing_a_number_not_on_the_list_is_a_404(app: Flask, as_admin: Any) -> None:
    """The admin is told the number was not on the list."""
    response = post_form(as_admin, "remove", NUMBER)
    assert response.status_code == 404
    assert "is not on the do-not-call list" in response.get_data(as_text=True)


def test_an_unreadable_number_is_reported(app: Flask, as_admin: Any) -> None:
    """Text that is not a phone number is a 400 with an example of one."""
    response = post_form(as_admin, "add", "call me maybe")
    assert response.status_code == 400
    assert "not a phone number we can read" in response.get_data(as_text=True)


def test_changes_are_audited_with_the_admin_and_hash_only(
    app: Flask, as_admin: Any, admin: User
) -> None:
    """Add and remove each leave an event naming the admin and the hash, not the number."""
    post_form(as_admin, "add", NUMBER)
    post_form(as_admin, "remove", NUMBER)
    found = events_of("dnc.added", "dnc.removed")
    assert [e.kind for e in found] == ["dnc.added", "dnc.removed"]
    assert {e.user_id for e in found} == {admin.id}
    assert {e.data["number_hash"] for e in found} == {suppression.number_hash(NUMBER)}
    assert "5550188" not in json.dumps([e.data for e in found])


def test_managers_may_not_see_or_change_the_list(app: Flask, client: Any) -> None:
    """The page and its forms are for admins only."""
    login(client, make_user(Role.MANAGER))
    assert client.get("/dashboard/dnc").status_code == 403
    token = csrf_token(client, "/dashboard/privacy")
    response = client.post("/dashboard/dnc/add", data={"number": NUMBER, "csrf_token": token})
    assert response.status_code == 403
    assert suppression.suppression_reason(NUMBER) is None


def test_forms_without_a_csrf_token_are_refused(app: Flask, as_admin: Any) -> None:
    """A cross-site post (no token) adds nothing."""
    response = as_admin.post("/dashboard/dnc/add", data={"number": NUMBER})
    assert response.status_code == 400
    assert suppression.suppression_reason(NUMBER) is None


# --- CSV import -------------------------------------------------------------------------------


def test_import_adds_each_number_and_lists_the_invalid_rows(app: Flask, as_admin: Any) -> None:
    """Valid rows are added; rows that are not numbers are listed with their row number."""
    content = b"phone\n+14155550188\n(415) 555-0189\nnot a number\n\n12\n"
    page = upload(as_admin, content).get_data(as_text=True)
    assert "Added 2 number(s); 0 were already on the list." in page
    assert "2 row(s) were not phone numbers" in page
    invalid = page.split('id="invalid-rows"')[1]
    assert '<td>4</td><td class="mono">not a number</td>' in invalid
    assert "<td>6</td>" in invalid
    assert suppression.suppression_reason(NUMBER) == "do_not_call"
    assert suppression.suppression_reason(OTHER) == "do_not_call"


def test_import_counts_numbers_already_listed(app: Flask, as_admin: Any) -> None:
    """A number already on the list is counted as such, not added twice."""
    post_form(as_admin, "add", NUMBER)
    page = upload(as_admin, b"+14155550188,Jane\r\n+14155550189,Joe\r\n").get_data(as_text=True)
    assert "Added 1 number(s); 1 were already on the list." in page


def test_import_of_a_file_that_is_not_text_is_refused(app: Flask, as_admin: Any) -> None:
    """A binary file is a 400 that says what was expected; nothing is added."""
    response = upload(as_admin, b"\xff\xfe\x00\x01binary", "numbers.xlsx")
    assert response.status_code == 400
    assert "not a CSV text file" in response.get_data(as_text=True)


def test_import_is_audited_as_one_summary_and_one_event_per_number(
    app: Flask, as_admin: Any, admin: User
) -> None:
    """The import leaves its counts, and each added number its own hashed event."""
    upload(as_admin, b"+14155550188\n+14155550189\nnope\n")
    (summary,) = events_of("dnc.imported")
    assert summary.user_id == admin.id
    assert summary.data == {"added": 2, "already": 0, "invalid": 1}
    assert [e.data["source"] for e in events_of("dnc.added")] == ["import", "import"]


# --- bearer API ------------------------------------------------------------------------------


def test_api_adds_a_number_with_201_and_again_with_201(app: Flask, client: Any) -> None:
    """POST /api/dnc is idempotent: both calls answer 201, the second with added false."""
    first = client.post("/api/dnc", json={"number": NUMBER}, headers=AUTH)
    again = client.post("/api/dnc", json={"number": "+1 415 555 0188"}, headers=AUTH)
    assert first.status_code == 201 and first.get_json()["added"] is True
    assert again.status_code == 201 and again.get_json() == {
        "number": NUMBER,
        "on_list": True,
        "added": False,
    }
    assert suppression.suppression_reason(NUMBER) == "do_not_call"


def test_api_refuses_an_unreadable_number(app: Flask, client: Any) -> None:
    """A number that is not one is a 400 invalid_number."""
    response = client.post("/api/dnc", json={"number": "12"}, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_number"


def test_api_needs_the_bearer_token(app: Flask, client: Any) -> None:
    """Without the token nothing is listed or erased."""
    assert client.post("/api/dnc", json={"number": NUMBER}).status_code == 401
    assert client.delete(f"/api/contacts/{NUMBER}").status_code == 401
    assert suppression.suppression_reason(NUMBER) is None


def test_api_removes_a_number_then_answers_404(app: Flask, client: Any) -> None:
    """DELETE /api/dnc/<number> is 204 for a listed number, then 404 not_found."""
    client.post("/api/dnc", json={"number": NUMBER}, headers=AUTH)
    assert client.delete(f"/api/dnc/{NUMBER}", headers=AUTH).status_code == 204
    again = client.delete(f"/api/dnc/{NUMBER}", headers=AUTH)
    assert again.status_code == 404 and again.get_json()["error"] == "not_found"
    assert suppression.suppression_reason(NUMBER) is None


def test_api_changes_are_audited_as_the_api(app: Flask, client: Any) -> None:
    """API changes carry no user and source "api"."""
    client.post("/api/dnc", json={"number": NUMBER}, headers=AUTH)
    (event,) = events_of("dnc.added")
    assert event.user_id is None and event.data["source"] == "api"


def test_api_erases_a_caller_like_the_dashboard(app: Flask, client: Any) -> None:
    """DELETE /api/contacts/<number> erases the calls and answers what it did."""
    session = make_session(phone=NUMBER, nps=2)
    response = client.delete(f"/api/contacts/{NUMBER}", headers=AUTH)
    assert response.status_code == 200
    body = response.get_json()
    assert body["found"] is True and body["sessions"] == 1
    assert body["message"].startswith("Erased 1 call(s)")
    db.session.expire_all()
    assert session.from_number == "erased"
    (event,) = events_of("caller.data_deleted")
    assert event.user_id is None and "5550188" not in json.dumps(event.data)


def test_api_erasure_keeps_the_number_on_the_list(app: Flask, client: Any) -> None:
    """A listed caller erased through the API stays listed, and the answer says so."""
    make_session(phone=NUMBER, nps=2)
    client.post("/api/dnc", json={"number": NUMBER}, headers=AUTH)
    body = client.delete(f"/api/contacts/{NUMBER}", headers=AUTH).get_json()
    assert body["suppressions_kept"] == ["do_not_call"]
    assert suppression.suppression_reason(NUMBER) == "do_not_call"


def test_api_erasure_of_an_unknown_number_says_nothing_was_held(app: Flask, client: Any) -> None:
    """Erasing a number we never saw is a 200 that says we hold nothing."""
    body = client.delete(f"/api/contacts/{OTHER}", headers=AUTH).get_json()
    assert body["found"] is False and body["message"].startswith("We hold nothing")


def test_api_erasure_refuses_an_unreadable_number(app: Flask, client: Any) -> None:
    """A path that is not a phone number is a 400, and nothing is erased."""
    response = client.delete("/api/contacts/not-a-number", headers=AUTH)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_number"


def test_api_refuses_unknown_query_parameters(app: Flask, client: Any) -> None:
    """A typo in the query (?dry_run=1) is a 400, and nothing is erased or listed."""
    make_session(phone=NUMBER, nps=2)
    response = client.delete(f"/api/contacts/{NUMBER}?dry_run=1", headers=AUTH)
    assert response.status_code == 400 and "dry_run" in response.get_json()["message"]
    assert client.post("/api/dnc?force=1", json={"number": NUMBER}, headers=AUTH).status_code == 400
    assert suppression.suppression_reason(NUMBER) is None
