"""call_sessions.callback_promised_from / callback_promised_by: what the caller was promised

The window the caller heard ("by 4:15 PM today", "tomorrow between 8 AM and 9 AM") is kept as
it was worked out when said, so the task is never due after it and a repeated "when" turn
says it again, whatever the SLA, calling hours or zone say by the time the task is opened
(``callbacks.promise``). Sessions from before keep only the moment (``callback_promised_at``)
and are capped by the promise recomputed from it, as they were.

Revision ID: l1_callback_promised_by
Revises: k1_callback_promised_at
Create Date: 2026-11-28 04:00:00.000000

"""

from alembic import op
from sqlalchemy import Column, DateTime

revision = "l1_callback_promised_by"
down_revision = "k1_callback_promised_at"
branch_labels = depends_on = None
TABLE, COLUMNS = "call_sessions", ("callback_promised_from", "callback_promised_by")


def upgrade():
    # Nullable columns: plain ADD COLUMN on both SQLite and PostgreSQL, no table copy.
    for column in COLUMNS:
        op.add_column(TABLE, Column(column, DateTime(timezone=True)))


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy would drop a table others reference.
    for column in reversed(COLUMNS):
        op.drop_column(TABLE, column)
