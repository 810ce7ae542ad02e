"""themes: what comments are about (themes, each comment's theme and embedding, rising alerts)

Revision ID: f1_themes
Revises: e1_survey_requests
Create Date: 2026-11-27 07:34:17.211895

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f1_themes"
down_revision = "e1_survey_requests"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "themes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("renamed", sa.Boolean(), nullable=False),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("vector_sum", sa.LargeBinary(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("named_at_size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["themes.id"], name=op.f("fk_themes_merged_into_id_themes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_themes")),
    )
    with op.batch_alter_table("themes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_themes_merged_into_id"), ["merged_into_id"], unique=False
        )

    op.create_table(
        "theme_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=False),
        sa.Column("sent", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["theme_id"], ["themes.id"], name=op.f("fk_theme_alerts_theme_id_themes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_theme_alerts")),
        sa.UniqueConstraint("theme_id", "week_start", name=op.f("uq_theme_alerts_theme_id")),
    )
    op.create_table(
        "theme_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=True),
        sa.Column("said_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name=op.f("fk_theme_comments_recording_id_recordings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["call_sessions.id"],
            name=op.f("fk_theme_comments_session_id_call_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"], ["themes.id"], name=op.f("fk_theme_comments_theme_id_themes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_theme_comments")),
        sa.UniqueConstraint("recording_id", name=op.f("uq_theme_comments_recording_id")),
    )
    with op.batch_alter_table("theme_comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_theme_comments_said_at"), ["said_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_theme_comments_session_id"), ["session_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_theme_comments_theme_id"), ["theme_id"], unique=False)


def downgrade():
    with op.batch_alter_table("theme_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_theme_comments_theme_id"))
        batch_op.drop_index(batch_op.f("ix_theme_comments_session_id"))
        batch_op.drop_index(batch_op.f("ix_theme_comments_said_at"))
    op.drop_table("theme_comments")
    op.drop_table("theme_alerts")
    with op.batch_alter_table("themes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_themes_merged_into_id"))
    op.drop_table("themes")
