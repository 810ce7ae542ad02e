"""call_sessions.retell_owed_at: a survey the callback rules must judge again

Set in the same write as an answer (or a person asked for, a callback accepted, its number
or time) stored after a hang-up told the rules of the survey; cleared by the verdict that
read it. The sweep judges again the few surveys marked, so a retelling that failed (rules as
a job with Redis down) is not lost (``callbacks.verdicts``).

Revision ID: m1_retell_owed
Revises: l1_callback_promised_by
Create Date: 2026-11-28 08:30:00.000000

"""

from alembic import op
from sqlalchemy import Column, DateTime

revision = "m1_retell_owed"
down_revision = "l1_callback_promised_by"
branch_labels = depends_on = None
TABLE, COLUMN = "call_sessions", "retell_owed_at"


def upgrade():
    # A nullable column: plain ADD COLUMN on both SQLite and PostgreSQL, no table copy.
    op.add_column(TABLE, Column(COLUMN, DateTime(timezone=True)))


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy would drop a table others reference.
    op.drop_column(TABLE, COLUMN)
