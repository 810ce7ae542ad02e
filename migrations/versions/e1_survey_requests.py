"""survey_requests: survey calls waiting for the callee's calling hours; greetings stop
promising "press 0 at any time"

The key promise is now said by the survey itself, from the keys that really work
(ivr.survey.key_promise); the demo greeting's own sentence said 0 works on every question,
which is false on the 0-10 question, so it is taken out of stored greetings.

Revision ID: e1_survey_requests
Revises: d1_suppressions
Create Date: 2026-12-01 09:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e1_survey_requests"
down_revision = "d1_suppressions"
branch_labels = None
depends_on = None

OLD_PROMISE = (
    " At any time, press 0 to speak with a person, or 9 to stop receiving these surveys."
)


def upgrade():
    op.create_table(
        "survey_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("to_number", sa.String(length=20), nullable=False),
        sa.Column("survey_slug", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "scheduled",
                "dialing",
                "placed",
                "refused",
                "failed",
                name="survey_request_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dialing_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["call_sessions.id"],
            name=op.f("fk_survey_requests_session_id_call_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_requests")),
    )
    with op.batch_alter_table("survey_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_requests_scheduled_for"), ["scheduled_for"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_survey_requests_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_survey_requests_to_number"), ["to_number"], unique=False
        )
    strip_old_promise()


def strip_old_promise():
    """Take the demo greeting's "press 0 at any time" sentence out of every stored version."""
    survey_versions = sa.table("survey_versions", sa.column("greeting", sa.Text()))
    op.execute(
        survey_versions.update().values(
            greeting=sa.func.replace(survey_versions.c.greeting, OLD_PROMISE, "")
        )
    )


def downgrade():
    with op.batch_alter_table("survey_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_requests_to_number"))
        batch_op.drop_index(batch_op.f("ix_survey_requests_status"))
        batch_op.drop_index(batch_op.f("ix_survey_requests_scheduled_for"))
    op.drop_table("survey_requests")
