"""Texts: the SMS channel on Twilio Messaging, with the customer's permission.

Public entry points for other packages:

* ``texts.consent.may_text(number)`` and ``grant``: permission to text (kept in
  ``core.consents``, withdrawn by any opt-out);
* ``texts.outbound.send_text(number, body, *, purpose, session_id=None, task_id=None)``:
  the one way to start an exchange by text (gate, row, Twilio, status callback);
* ``texts.conversations``: ``open_conversation`` and ``register`` route a customer's reply
  to whatever asked the question (the text survey, a follow-up);
* ``texts.survey.start_text_survey``: what ``POST /api/surveys/texts`` does.
"""

from __future__ import annotations

from flask import Flask

# models: Alembic sees the tables; answering and followup register conversation handlers.
from texts import answering, api, cli, followup, models, webhooks  # noqa: F401


def init_app(app: Flask) -> None:
    """Register the Twilio Messaging webhooks and the API (signed or bearer: no CSRF)."""
    for blueprint in (webhooks.bp, api.bp):
        app.register_blueprint(blueprint)
        csrf = app.extensions.get("csrf")
        if csrf is not None:
            csrf.exempt(blueprint)
    app.cli.add_command(cli.text_command)
