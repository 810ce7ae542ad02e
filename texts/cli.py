"""``flask text``: take a text survey from the terminal, as a phone, through the fake Twilio.

Each line typed is a text to the company number; the app's replies and the texts it sends
are printed. ``/consent`` records the phone's permission to be texted and ``/survey [slug]``
asks for a text survey, through the app's own API (``API_TOKEN``), as a CRM would: like
``flask simulate``, this talks to the running app over HTTP only.
"""

from __future__ import annotations

from typing import Any

import click
import requests
from flask import current_app

from simulator.texting import TextingPhone, run_terminal_text


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
    bearer = {"Authorization": f"Bearer {cfg['API_TOKEN']}"}
    phone = TextingPhone(
        from_,
        cfg["TWILIO_PHONE_NUMBER"],
        fake_url=(fake_twilio or cfg["TWILIO_API_BASE_URL"]).rstrip("/"),
        sms_url=f"{base}/twilio/sms",
    )

    def said(response: requests.Response) -> dict[str, Any]:
        body: dict[str, Any] = response.json()
        return body

    def give_consent(_: str) -> str:
        answer = requests.put(
            f"{base}/api/contacts/{from_}/texts-consent",
            json={"consent": True, "source": "terminal"},
            headers=bearer,
            timeout=20,
        )
        if answer.status_code != 200:
            return f"refused ({answer.status_code}): {said(answer).get('message')}"
        return "permission to text recorded"

    def ask_survey(slug: str) -> str:
        answer = requests.post(
            f"{base}/api/surveys/texts",
            json={"to": from_, "survey": slug or None},
            headers=bearer,
            timeout=20,
        )
        body = said(answer)
        if answer.status_code == 202:
            return f"outside calling hours: scheduled for {body['scheduled_for']} (UTC)"
        if answer.status_code != 201:
            return f"refused ({body.get('error')}): {body.get('message')}"
        return "survey started"

    run_terminal_text(
        phone,
        commands={"consent": give_consent, "survey": ask_survey},
        script=script.split("|") if script else None,
    )
