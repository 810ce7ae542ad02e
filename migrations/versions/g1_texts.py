"""texts: permission to text (text_consents), every text (text_messages), the exchanges a
reply answers (text_conversations); call_sessions.channel and survey_requests.channel
("voice" or "sms"); survey_versions.offer_texts (ask for permission before the goodbye)

Revision ID: g1_texts
Revises: f1_themes
Create Date: 2026-12-02 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "g1_texts"
down_revision = "f1_themes"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN: a batch copy on SQLite would drop and recreate these tables,
    # which other tables reference (refused with foreign keys on once rows exist).
    op.add_column(
        "call_sessions",
        sa.Column("channel", sa.String(length=8), server_default="voice", nullable=False),
    )
    op.add_column(
        "survey_requests",
        sa.Column("channel", sa.String(length=8), server_default="voice", nullable=False),
    )
    op.add_column(
        "survey_versions",
        sa.Column("offer_texts", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_table(
        "text_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_source", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_text_consents_contact_id_contacts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_text_consents")),
    )
    op.create_index(
        op.f("ix_text_consents_contact_id"), "text_consents", ["contact_id"], unique=False
    )
    op.create_table(
        "text_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("step", sa.String(length=32), nullable=True),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_text_conversations_contact_id_contacts")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["call_sessions.id"],
            name=op.f("fk_text_conversations_session_id_call_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["callback_tasks.id"],
            name=op.f("fk_text_conversations_task_id_callback_tasks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_text_conversations")),
    )
    for column in ("number", "session_id", "task_id", "expires_at", "closed_at"):
        op.create_index(
            op.f(f"ix_text_conversations_{column}"), "text_conversations", [column], unique=False
        )
    op.create_table(
        "text_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=True),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("error_code", sa.String(length=8), nullable=True),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_text_messages_contact_id_contacts")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["call_sessions.id"],
            name=op.f("fk_text_messages_session_id_call_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["callback_tasks.id"], name=op.f("fk_text_messages_task_id_callback_tasks")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["text_conversations.id"],
            name=op.f("fk_text_messages_conversation_id_text_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_text_messages")),
        sa.UniqueConstraint("sid", name=op.f("uq_text_messages_sid")),
    )
    for column in (
        "number",
        "contact_id",
        "session_id",
        "task_id",
        "conversation_id",
        "created_at",
    ):
        op.create_index(op.f(f"ix_text_messages_{column}"), "text_messages", [column], unique=False)


def downgrade():
    op.drop_table("text_messages")
    op.drop_table("text_conversations")
    op.drop_table("text_consents")
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy would drop survey_versions and
    # call_sessions, which rows of other tables still point at.
    op.drop_column("survey_versions", "offer_texts")
    op.drop_column("survey_requests", "channel")
    op.drop_column("call_sessions", "channel")
