"""``flask text``: take a text survey from the terminal, as a phone, through the fake Twilio.

Each line typed is a text to the company number; the app's replies and the texts it sends
are printed. ``/consent`` records the phone's permission to be texted and ``/survey`` asks
for a text survey, as ``POST /api/surveys/texts`` would.
"""

from __future__ import annotations

import click
from flask import current_app

from core import contacts
from core.db import db
from core.survey_requests import SurveyRequest
from simulator.texting import TextingPhone, run_terminal_text
from texts import consent, survey


@click.command("text")
@click.option("--from", "from_", default="+14155550123", show_default=True, help="The phone.")
@click.option(
    "--script", default=None, help='Lines to send instead of typing, e.g. "/consent|/survey|9".'
)
@click.option("--fake-twilio", default=None, help="Fake Twilio base URL (default: the app's).")
def text_command(from_: str, script: str | None, fake_twilio: str | None) -> None:
    """Text the app from a simulated phone (a line is a text; /consent, /survey, /quit)."""
    cfg = current_app.config
    base = cfg["PUBLIC_BASE_URL"] or f"http://127.0.0.1:{cfg['PORT']}"
    phone = TextingPhone(
        from_,
        cfg["TWILIO_PHONE_NUMBER"],
        fake_url=(fake_twilio or cfg["TWILIO_API_BASE_URL"]).rstrip("/"),
        sms_url=f"{base}/twilio/sms",
    )

    def give_consent(_: str) -> str:
        consent.grant(contacts.get_or_create(contacts.to_e164(from_)), "terminal")
        db.session.commit()
        return "permission to text recorded"

    def ask_survey(slug: str) -> str:
        try:
            started = survey.start_text_survey(from_, slug or None)
        except survey.TextRefused as exc:
            return f"refused ({exc.code}): {exc}"
        if isinstance(started, SurveyRequest):
            return (
                f"outside calling hours: scheduled for {started.scheduled_for:%Y-%m-%d %H:%M} UTC"
            )
        return "survey started"

    run_terminal_text(
        phone,
        commands={"consent": give_consent, "survey": ask_survey},
        script=script.split("|") if script else None,
    )
