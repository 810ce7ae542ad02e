"""recording_blobs: recording audio held in the database (RECORDING_STORAGE=database)

Revision ID: c1_recording_blobs
Revises: b1_callbacks
Create Date: 2026-11-30 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "c1_recording_blobs"
down_revision = "b1_callbacks"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "recording_blobs",
        sa.Column("recording_sid", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("recording_sid", "seq", name=op.f("pk_recording_blobs")),
    )


def downgrade():
    op.drop_table("recording_blobs")
