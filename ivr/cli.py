"""``flask`` commands: users, seeding, the recording sweep, a simulated call, reading answers."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from core import auth, seed
from core.models import Role
from ivr.cli_answers import answers
from ivr.cli_comments import reanalyse_command
from simulator.sinks import HttpRecordingSink
from simulator.terminal import parse_script, run_terminal_call
from transcription import pipeline
from transcription.comments_cli import cli as comments_cli

users = AppGroup("users", help="Manage people who sign in to the web UI.")


@users.command("create")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.AGENT.value)
@click.option("--name", default=None)
@click.option("--phone", default=None, help="Agent's phone (E.164) rung for click-to-call.")
@click.option("--team", default=None, help="Team name (created if new); managers see its surveys.")
def create_user(
    email: str, password: str, role: str, name: str | None, phone: str | None, team: str | None
) -> None:
    """Create a person who can sign in."""
    try:
        user = auth.create_user(email, password, role, name=name, phone=phone, team=team)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created {user.role.value} {user.email}")


@click.command("seed")
def seed_command() -> None:
    """Create the demo survey (idempotent)."""
    survey = seed.create_demo_survey()
    version = survey.active_version.number if survey.active_version else "-"
    click.echo(f"survey '{survey.slug}' ready (version {version})")


DEMO_PEOPLE = [
    ("admin@example.com", "admin", None),
    ("manager@example.com", "manager", None),
    ("agent@example.com", "agent", "+14155550100"),
]


@click.command("demo-users")
def demo_users_command() -> None:
    """Local mode only: create demo people with the password 'demo-password'."""
    if not current_app.config["LOCAL_MODE"]:
        raise click.ClickException("demo users are only created in local mode")
    for email, role, phone in DEMO_PEOPLE:
        try:
            auth.create_user(email, "demo-password", role, phone=phone)
        except ValueError:
            continue  # already there
        click.echo(f"created {role} {email}")


@click.command("sweep")
def sweep_command() -> None:
    """Enqueue recordings that are ready but have no live job."""
    click.echo(f"enqueued {pipeline.sweep()} recording(s)")


@click.command("simulate")
@click.option("--url", default=None, help="Survey URL (default: this app's /twilio/voice/survey).")
@click.option("--from", "from_", default="+14155550123", show_default=True, help="Caller's number.")
@click.option(
    "--script", default=None, help='Non-interactive answers, e.g. "9,4,1,record:comment.wav,2".'
)
@click.option("--fake-twilio", default=None, help="Fake Twilio base URL that stores the recording.")
def simulate_command(
    url: str | None, from_: str, script: str | None, fake_twilio: str | None
) -> None:
    """Place a simulated survey call from the terminal (type digits, 'say ...', 'record FILE')."""
    cfg = current_app.config
    base = cfg["PUBLIC_BASE_URL"] or f"http://127.0.0.1:{cfg['PORT']}"
    sink = HttpRecordingSink(
        fake_twilio or cfg["TWILIO_API_BASE_URL"],
        cfg["TWILIO_ACCOUNT_SID"],
        cfg["TWILIO_AUTH_TOKEN"],
    )
    result = run_terminal_call(
        url or f"{base}/twilio/voice/survey",
        sink=sink,
        account_sid=cfg["TWILIO_ACCOUNT_SID"],
        auth_token=cfg["TWILIO_AUTH_TOKEN"],
        from_=from_,
        to=cfg["TWILIO_PHONE_NUMBER"],
        script=parse_script(script) if script else None,
        status_callback=f"{base}/twilio/voice/status",
    )
    click.echo(f"call ended: {result.final_status}")


def init_app(app: Flask) -> None:
    app.cli.add_command(users)
    comments_cli.add_command(reanalyse_command)  # needs callbacks, so it joins from here
    app.cli.add_command(answers)
    for command in (seed_command, sweep_command, simulate_command, demo_users_command):
        app.cli.add_command(command)
