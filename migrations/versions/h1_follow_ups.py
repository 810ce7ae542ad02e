"""follow_ups: "did we put it right?" after a callback (one per task, its 1-5 reply); a task
can be reopened (callback_state gains "reopened")

Revision ID: h1_follow_ups
Revises: g1_texts
Create Date: 2026-12-03 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "h1_follow_ups"
down_revision = "g1_texts"
branch_labels = None
depends_on = None

STATES = (
    "open",
    "escalated",
    "claimed",
    "dialing",
    "connected",
    "completed",
    "no_answer",
    "voicemail",
    "failed",
    "retry_scheduled",
    "closed",
)
CHECK = "ck_callback_tasks_callback_state"


def _states_check(old, new):
    """callback_tasks.state's CHECK constraint, from the ``old`` values to the ``new``.

    SQLite cannot alter a constraint, and copying the table (batch mode) would trip the
    foreign keys of callback_attempts and others, which cannot be switched off inside the
    migration's transaction. A changed CHECK leaves the stored rows as they are, so there
    the table's own SQL is edited, the procedure SQLite documents for such changes
    (https://www.sqlite.org/lang_altertable.html#otheralter); every row already
    satisfies the new list (a downgrade first closes reopened tasks).
    """
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f(CHECK), "callback_tasks", type_="check")
        allowed = ", ".join(f"'{s}'" for s in new)
        op.create_check_constraint(
            "callback_state", "callback_tasks", sa.text(f"state IN ({allowed})")
        )
        return
    table_sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'callback_tasks'"
    ).scalar_one()
    before, after = (", ".join(f"'{s}'" for s in values) for values in (old, new))
    if f"({before})" not in table_sql:
        raise RuntimeError("callback_tasks.state's CHECK is not the one this migration knows")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'callback_tasks'",
        (table_sql.replace(f"({before})", f"({after})"),),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade():
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "scheduled",
                "sending",
                "sent",
                "answered",
                "unanswered",
                "skipped",
                "failed",
                name="follow_up_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("channel", sa.String(length=8), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sid", sa.String(length=64), nullable=True),
        sa.Column("score", sa.SmallInteger(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_follow_ups_agent_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["callback_tasks.id"], name=op.f("fk_follow_ups_task_id_callback_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
        sa.UniqueConstraint("task_id", name=op.f("uq_follow_ups_task_id")),
    )
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_ups_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_follow_ups_status"), ["status"], unique=False)
    _states_check(STATES, (*STATES, "reopened"))


def downgrade():
    # A reopened task goes back to closed: the old states have no word for it.
    op.execute(
        "UPDATE callback_tasks SET state = 'closed', closed_at = updated_at "
        "WHERE state = 'reopened'"
    )
    _states_check((*STATES, "reopened"), STATES)
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_ups_status"))
        batch_op.drop_index(batch_op.f("ix_follow_ups_agent_id"))
    op.drop_table("follow_ups")
