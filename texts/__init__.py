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

from texts import models, webhooks  # noqa: F401 - models: Alembic sees the tables


def init_app(app: Flask) -> None:
    """Register the Twilio Messaging webhooks (signed by Twilio, so no CSRF token)."""
    app.register_blueprint(webhooks.bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(webhooks.bp)
