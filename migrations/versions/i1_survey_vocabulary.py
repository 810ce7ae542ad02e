"""survey_versions.vocabulary: the terms Whisper listens for in a survey's comments

Existing versions get NULL, which means the configured default (WHISPER_VOCABULARY), so
their transcription changes only by that default.

Revision ID: i1_survey_vocabulary
Revises: h1_follow_ups
Create Date: 2026-12-02 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "i1_survey_vocabulary"
down_revision = "h1_follow_ups"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("survey_versions") as batch_op:
        batch_op.add_column(sa.Column("vocabulary", sa.Text(), nullable=True))


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy would drop survey_versions, which
    # other tables reference, and fail with foreign keys on.
    op.drop_column("survey_versions", "vocabulary")
