"""The manager dashboard in a real browser (Debian chromium through Playwright)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from core.db import db
from core.models import Role, Survey, User
from simulator.audio import tone_wav
from simulator.fake_state import FakeTwilio
from tests.browser.conftest import screenshot, seed_calls, sign_in
from tests.dashboard.conftest import make_team
from tests.factories import demo_survey, make_user

pytestmark = pytest.mark.browser

NEW_PROMPT = "Out of ten, how likely are you to recommend our bakery? Press pound after your score."


def test_sign_in_lands_on_the_flagged_list(
    app: Flask, page: Any, boss: User, recordings_dir: Path, fake_twilio: FakeTwilio
) -> None:
    """A manager signs in and sees flagged calls with reasons and callback state."""
    seed_calls(recordings_dir, fake_twilio)
    sign_in(page, boss)
    assert page.url.endswith("/dashboard/")
    assert page.locator("table.flagged tbody tr").count() == 5
    assert page.locator("tr", has_text="0142").locator(".badge", has_text="Distress").count() == 1
    assert page.locator("tr", has_text="0142").locator(".sla.met").count() == 1
    screenshot(page, "01-flagged-list")


def test_filtering_the_flagged_list(
    app: Flask, page: Any, boss: User, recordings_dir: Path, fake_twilio: FakeTwilio
) -> None:
    """Ticking "Pressed 0" and applying leaves only that call."""
    seed_calls(recordings_dir, fake_twilio)
    sign_in(page, boss)
    page.check("input[name=reason][value=pressed_0]")
    page.click("text=Apply filters")
    page.wait_for_load_state()
    rows = page.locator("table.flagged tbody tr")
    assert rows.count() == 1
    assert "0145" in rows.first.inner_text()
    assert "reason=pressed_0" in page.url
    screenshot(page, "02-flagged-filtered")


def test_recording_plays_with_access(
    app: Flask, page: Any, boss: User, recordings_dir: Path, fake_twilio: FakeTwilio
) -> None:
    """The call page's audio element loads the recording (metadata, duration)."""
    calls = seed_calls(recordings_dir, fake_twilio)
    sign_in(page, boss)
    page.click("tr:has-text('0142') a")
    page.wait_for_load_state()
    assert page.evaluate("document.querySelector('audio.player').readyState") == 0  # preload none
    page.evaluate("document.querySelector('audio.player').play()")  # what the play button does
    page.wait_for_function(
        "() => { const a = document.querySelector('audio.player'); return a.readyState >= 1; }"
    )
    duration = page.evaluate("document.querySelector('audio.player').duration")
    assert duration == pytest.approx(1.0, abs=0.1)
    assert page.locator("mark.flag-distress").count() >= 1
    assert page.locator("ol.timeline li", has_text="Callback attempt").count() == 1
    assert str(calls["distress"].id) in page.url
    page.reload()
    assert "played by manager@example.com" in page.inner_text("ul.audit")
    screenshot(page, "03-call-detail")


def test_recording_is_403_without_access(
    app: Flask, page: Any, recordings_dir: Path, fake_twilio: FakeTwilio
) -> None:
    """A manager of another team gets 403 for the audio and the element fails to load."""
    calls = seed_calls(recordings_dir, fake_twilio)
    survey = demo_survey()
    survey.team_id = make_team("Owners").id
    db.session.commit()
    outsider = make_user(Role.MANAGER, make_team("Others"), email="other@example.com")
    sign_in(page, outsider)
    audio_url = f"/dashboard/recordings/{calls['distress'].recordings[0].id}/audio"
    status = page.evaluate(f"fetch('{audio_url}').then(r => r.status)")
    assert status == 403
    page.set_content(f'<audio id="a" src="{page.url.split("/dashboard")[0]}{audio_url}"></audio>')
    page.wait_for_function("() => document.getElementById('a').error !== null")


def test_trend_charts_render_with_data(
    app: Flask, page: Any, boss: User, recordings_dir: Path, fake_twilio: FakeTwilio
) -> None:
    """The trends page draws visible bars for the week of calls."""
    calls = seed_calls(recordings_dir, fake_twilio)
    sign_in(page, boss)
    # The seeded week by its own dates: read from the clock after seeding, "six days ago"
    # dropped the first day when midnight UTC passed in between.
    last = calls["distress"].created_at.date()  # seeded on today's date
    page.goto(f"/dashboard/trends?from={last - timedelta(days=6)}&to={last}")
    bars = page.locator("[data-chart=nps_score] svg rect.bar")
    assert bars.count() == 7
    box = bars.first.bounding_box()
    assert box is not None and box["height"] > 1
    assert page.locator("[data-kpi=calls]").inner_text() == "40"
    screenshot(page, "04-trends")


def test_edited_prompt_is_heard_in_try_it(app: Flask, page: Any, boss: User) -> None:
    """Editing the NPS prompt in the browser changes what the try-it call says."""
    sign_in(page, boss)
    page.goto("/dashboard/surveys")
    screenshot(page, "05-surveys")
    page.click("tr[data-survey=post-call] >> text=Edit")
    page.fill("textarea[name=q-0-prompt]", NEW_PROMPT)
    screenshot(page, "06-survey-editor")
    page.click("text=Save as new version")
    page.wait_for_load_state()
    assert "Saved version 2" in page.inner_text(".flash")
    page.click("text=Try it in the browser")
    page.uncheck("#speak")
    page.click("#call")
    page.wait_for_selector(f".bubble.ivr:has-text('{NEW_PROMPT[:40]}')")
    assert page.locator("#status").inner_text() == "in call"
    screenshot(page, "07-try-it-in-call")


def test_whole_survey_with_keypad_and_uploaded_comment(
    app: Flask, page: Any, boss: User, tmp_path: Path
) -> None:
    """Keypad answers, a spoken answer and an uploaded comment finish the try-it call."""
    comment = tmp_path / "comment.wav"
    comment.write_bytes(tone_wav(1.5))
    sign_in(page, boss)
    page.goto(f"/dashboard/surveys/{demo_survey().id}/try")
    page.uncheck("#speak")
    page.click("#call")
    page.wait_for_selector("#gather-controls:not([hidden])")
    for key in ("3", "#"):
        page.click(f".keypad button[data-key='{key}']")
    page.wait_for_selector(".bubble.ivr:has-text('How satisfied')")
    page.fill("#say-text", "two")
    page.click("#say-form button")
    page.wait_for_selector(".bubble.ivr:has-text('Was your problem solved')")
    page.click(".keypad button[data-key='2']")
    page.wait_for_selector(".bubble.ivr:has-text('recorded')")
    page.click(".keypad button[data-key='1']")
    page.wait_for_selector("#record-controls:not([hidden])")
    page.set_input_files("#upload", str(comment))
    page.wait_for_selector(".bubble.ivr:has-text('we have your comment')")
    page.click(".keypad button[data-key='2']")
    page.wait_for_selector("#done:not([hidden])")
    assert page.locator("#status").inner_text() == "call ended"
    screenshot(page, "08-try-it-ended")
    page.click("#detail-link")
    page.wait_for_load_state()
    assert page.locator(".badge.test").count() == 1
    assert "csat" in page.inner_text("table.answers")


def test_forged_form_post_is_rejected(app: Flask, page: Any, boss: User) -> None:
    """A form posted without the CSRF token (as from another site) is refused."""
    survey = demo_survey()
    sign_in(page, boss)
    page.goto("/dashboard/surveys")
    with (
        page.expect_navigation(),
        page.expect_response(lambda r: r.request.method == "POST") as posted,
    ):
        page.evaluate(
            """(id) => {
            const f = document.createElement('form');
            f.method = 'post';
            f.action = '/dashboard/surveys/' + id + '/edit';
            f.innerHTML = '<input name="greeting" value="Hacked">';
            document.body.appendChild(f);
            f.submit();
        }""",
            survey.id,
        )
    assert posted.value.status == 400
    assert "CSRF" in page.locator("body").inner_text()
    db.session.expire_all()
    fresh = db.session.get(Survey, survey.id)
    assert fresh is not None and fresh.active_version is not None
    assert fresh.active_version.number == 1


def test_deleting_a_caller_removes_audio_and_twilio_copy(
    app: Flask, page: Any, boss: User, recordings_dir: Path, fake_twilio: FakeTwilio
) -> None:
    """The privacy page erases a caller: the file and Twilio's copy are gone."""
    calls = seed_calls(recordings_dir, fake_twilio)
    rec = calls["distress"].recordings[0]
    path = Path(rec.local_path or "")
    assert path.exists()
    sign_in(page, boss)
    page.goto("/dashboard/privacy")
    page.fill("input[name=phone]", "+1 415 555 0142")
    page.check("input[name=confirm]")
    page.click("text=Delete this caller's data")
    page.wait_for_load_state()
    assert "Erased 1 call(s) and 1 recording(s)" in page.inner_text(".flash")
    assert not path.exists()
    assert rec.recording_sid in fake_twilio.deleted_recordings
    assert page.locator("table.audit-table", has_text="Caller erased").count() == 1
    screenshot(page, "09-privacy")
