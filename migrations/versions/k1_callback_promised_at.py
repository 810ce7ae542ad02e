"""call_sessions.callback_promised_at: when the caller heard by when to expect the callback

The callback task is timed from this moment (``callbacks.promise``), not from the end of the
call, so it keeps the promise. Sessions from before get NULL and are timed from the end of
the call, as they were.

Revision ID: k1_callback_promised_at
Revises: j1_one_contact_per_number
Create Date: 2026-11-28 02:30:00.000000

"""

from alembic import op
from sqlalchemy import Column, DateTime

revision = "k1_callback_promised_at"
down_revision = "j1_one_contact_per_number"
branch_labels = depends_on = None
TABLE, COLUMN = "call_sessions", "callback_promised_at"


def upgrade():
    # A nullable column: plain ADD COLUMN on both SQLite and PostgreSQL, no table copy.
    op.add_column(TABLE, Column(COLUMN, DateTime(timezone=True)))


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy would drop a table others reference.
    op.drop_column(TABLE, COLUMN)
