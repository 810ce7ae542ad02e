"""text_messages: a partial index on the texts still waiting for an answer ('receiving')

The minute's sweep (``texts.stranded``) reads the texts left unanswered past a short grace,
oldest first; the index holds only those rows, so the sweep never reads the texts' history.

Revision ID: n1_text_messages_receiving
Revises: m1_retell_owed
Create Date: 2026-11-28 11:40:00.000000

"""

from alembic import op
from sqlalchemy import text

revision = "n1_text_messages_receiving"
down_revision = "m1_retell_owed"
branch_labels = depends_on = None
NAME, TABLE, WHERE = "ix_text_messages_receiving", "text_messages", "status = 'receiving'"


def upgrade():
    op.create_index(
        NAME,
        TABLE,
        ["created_at"],
        sqlite_where=text(WHERE),
        postgresql_where=text(WHERE),
    )


def downgrade():
    op.drop_index(NAME, table_name=TABLE)
