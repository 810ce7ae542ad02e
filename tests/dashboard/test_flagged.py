"""The flagged list: reasons, filters, paging, scoping and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from callbacks import evaluation, rules
from core.db import db, utcnow
from core.models import CallbackRules, CallSession, Role, Survey
from dashboard import flags
from tests.dashboard.conftest import make_session, make_team
from tests.factories import login, make_user

DISTRESSED = "I am really scared, I can't cope with this and I don't know what to do."


def rows_of(html: str) -> int:
    return html.count("<tr data-session=")


def test_reasons_cover_every_kind_of_flag(app: Flask) -> None:
    """Low score, distress, asked for contact, pressed 0 and opted out are all derived."""
    s = make_session(
        nps=2, csat=5, comment=DISTRESSED, asked_for_human=True, wants_callback=True, opted_out=True
    )
    codes = [r.code for r in flags.reasons_for(s)]
    assert codes == ["low_score", "distress", "contact_request", "pressed_0", "opted_out"]


def test_good_scores_without_comment_are_not_flagged(app: Flask) -> None:
    """A happy caller is not flagged."""
    s = make_session(nps=10, csat=5, resolved=1)
    assert flags.reasons_for(s) == []


def test_sql_filter_agrees_with_reason_derivation(app: Flask) -> None:
    """For each reason, the SQL condition selects exactly the sessions the Python rule flags."""
    sessions = [
        make_session(nps=3),
        make_session(nps=9, csat=5, comment=DISTRESSED),
        make_session(nps=9, comment="The service was terrible and rude, a total waste of time."),
        make_session(nps=9, comment="Please call me back tomorrow about the bill."),
        make_session(nps=10, asked_for_human=True),
        make_session(nps=10, opted_out=True),
        make_session(nps=10, csat=5, resolved=1),
        make_session(resolved=0),
    ]
    for code in flags.REASONS:
        in_sql = set(
            db.session.scalars(db.select(CallSession.id).where(flags.reason_condition(code)))
        )
        in_python = {s.id for s in sessions if code in [r.code for r in flags.reasons_for(s)]}
        assert in_sql == in_python, code


def test_every_callback_reason_shows_as_a_flag(app: Flask) -> None:
    """Whatever callbacks would open a task for, the dashboard flags the same call for it."""
    sessions = [
        make_session(nps=3, csat=1, resolved=0),
        make_session(nps=9, comment=DISTRESSED),
        make_session(nps=9, comment="The service was terrible and rude, a total waste of time."),
        make_session(nps=9, comment="Please call me back tomorrow about the bill."),
        make_session(nps=10, asked_for_human=True, wants_callback=True),
        make_session(nps=2, wants_callback=True, opted_out=True, comment=DISTRESSED),
    ]
    for s in sessions:
        assert s.contact is not None
        decision = rules.decide(evaluation.facts_for(s, s.contact), CallbackRules())
        assert decision.reasons, s.id
        shown = {r.code for r in flags.reasons_for(s)}
        assert {r.flag for r in decision.reasons} <= shown, s.id


def test_list_shows_masked_number_scores_reasons_and_snippet(app: Flask, signed_in: Any) -> None:
    """A row shows the last four digits only, the scores, reason badges and the comment."""
    make_session(phone="+14155559876", nps=2, csat=1, comment=DISTRESSED)
    html = signed_in.get("/dashboard/").get_data(as_text=True)
    assert "••• ••• 9876" in html and "+14155559876" not in html
    assert "NPS <b>2</b>" in html and "CSAT <b>1</b>" in html
    assert "Low score" in html and "Distress" in html
    assert "I am really scared" in html


def test_filter_by_reason_keeps_only_matching_calls(app: Flask, signed_in: Any) -> None:
    """Filtering by "Pressed 0" hides low-score-only calls."""
    make_session(nps=1)
    make_session(nps=10, asked_for_human=True)
    html = signed_in.get("/dashboard/?reason=pressed_0").get_data(as_text=True)
    assert rows_of(html) == 1
    assert "Pressed 0" in html and "1 flagged call" in html


def test_date_range_filter(app: Flask, signed_in: Any) -> None:
    """Calls outside the date range are not listed."""
    # The listed call's own day, not the clock's: just after midnight UTC they differ.
    recent = utcnow() - timedelta(minutes=30)
    make_session(nps=1, at=recent - timedelta(days=10))
    make_session(nps=1, at=recent)
    day = recent.date().isoformat()
    html = signed_in.get(f"/dashboard/?from={day}&to={day}").get_data(as_text=True)
    assert rows_of(html) == 1


def test_test_calls_are_hidden_unless_asked_for(app: Flask, signed_in: Any) -> None:
    """Try-it calls stay out of the list unless "include test calls" is ticked."""
    make_session(nps=1, is_test=True)
    assert rows_of(signed_in.get("/dashboard/").get_data(as_text=True)) == 0
    assert rows_of(signed_in.get("/dashboard/?tests=1").get_data(as_text=True)) == 1


def test_paging_is_server_side(app: Flask, signed_in: Any) -> None:
    """30 flagged calls make two pages of 25 and 5, newest first."""
    for i in range(30):
        make_session(nps=1, at=utcnow() - timedelta(minutes=i + 1))
    first = signed_in.get("/dashboard/").get_data(as_text=True)
    second = signed_in.get("/dashboard/?page=2").get_data(as_text=True)
    assert rows_of(first) == 25 and rows_of(second) == 5
    assert "Page 2 of 2" in second and 'rel="prev"' in second


def test_manager_sees_only_own_team(app: Flask, client: Any) -> None:
    """A manager of team A does not see calls to team B's survey."""
    team_a, team_b = make_team("A"), make_team("B")
    survey = db.session.scalar(db.select(Survey).where(Survey.slug == "post-call"))
    assert survey is not None
    survey.team_id = team_b.id
    db.session.commit()
    make_session(nps=1)
    login(client, make_user(Role.MANAGER, team_a))
    assert rows_of(client.get("/dashboard/").get_data(as_text=True)) == 0


def test_admin_sees_every_team(app: Flask, client: Any) -> None:
    """An admin sees calls of every team's surveys."""
    survey = db.session.scalar(db.select(Survey).where(Survey.slug == "post-call"))
    assert survey is not None
    survey.team_id = make_team("B").id
    db.session.commit()
    make_session(nps=1)
    login(client, make_user(Role.ADMIN))
    assert rows_of(client.get("/dashboard/").get_data(as_text=True)) == 1


def test_agents_cannot_open_the_dashboard(app: Flask, client: Any) -> None:
    """Agents get 403 on the manager pages."""
    login(client, make_user(Role.AGENT))
    assert client.get("/dashboard/").status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(app: Flask, client: Any) -> None:
    """The dashboard redirects to the sign-in page with next=."""
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_csv_export_has_the_filtered_rows(app: Flask, signed_in: Any) -> None:
    """The CSV holds one line per filtered call with masked caller and reasons."""
    make_session(phone="+14155550001", nps=1)
    make_session(phone="+14155550002", nps=10, asked_for_human=True)
    response = signed_in.get("/dashboard/flagged.csv?reason=low_score")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 1
    assert rows[0]["caller"].endswith("0001") and rows[0]["reasons"] == "Low score"
    assert rows[0]["nps"] == "1"


@pytest.mark.parametrize("text", ["=HYPERLINK(1)", "+1", "@x"])
def test_csv_neutralises_formulas(app: Flask, signed_in: Any, text: str) -> None:
    """A comment starting like a formula is prefixed so spreadsheets show it as text."""
    make_session(nps=1, comment=text)
    body = signed_in.get("/dashboard/flagged.csv").get_data(as_text=True)
    assert f"'{text}" in body


def test_detail_page_shows_answers_transcript_highlight_and_timeline(
    app: Flask, signed_in: Any, recordings_dir: Path
) -> None:
    """The call page shows the answers, the player, marked phrases and the timeline."""
    s = make_session(nps=2, csat=1, comment=DISTRESSED, audio_dir=recordings_dir)
    html = signed_in.get(f"/dashboard/calls/{s.id}").get_data(as_text=True)
    assert "<audio" in html and f"/dashboard/recordings/{s.recordings[0].id}/audio" in html
    assert '<mark class="flag-distress"' in html
    assert "Answered nps: 2" in html and "Comment recorded" in html
    assert "twilio.com" not in html


def test_paging_and_export_links_keep_the_filters(app: Flask, signed_in: Any) -> None:
    """The next-page and CSV links carry the chosen reason."""
    for i in range(30):
        make_session(nps=1, at=utcnow() - timedelta(minutes=i + 1))
    html = signed_in.get("/dashboard/?reason=low_score").get_data(as_text=True)
    assert "/dashboard/?reason=low_score&amp;page=2" in html
    assert "/dashboard/flagged.csv?reason=low_score" in html
