"""suppressions: opt-outs and do-not-call entries kept as a keyed hash of the number

Existing opted-out and do-not-call contacts are copied in. The hash is computed here with
the same key as core.suppression.number_hash (SUPPRESSION_HASH_KEY, else SECRET_KEY): the
migration runs inside the app (`flask --app ivr db upgrade`), so the key is the one the app
will use. Run it with the production environment, or entries will not match.

Revision ID: d1_suppressions
Revises: c1_recording_blobs
Create Date: 2026-11-27 07:00:00.000000

"""
import hashlib
import hmac

import sqlalchemy as sa
from alembic import op
from flask import current_app

# revision identifiers, used by Alembic.
revision = "d1_suppressions"
down_revision = "c1_recording_blobs"
branch_labels = None
depends_on = None


def _hash(key: bytes, number: str) -> str:
    # Contacts hold E.164 already, which is what core.suppression.canonical gives.
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()


def upgrade():
    suppressions = op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "opt_out",
                "do_not_call",
                name="suppression_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_suppressions_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
        sa.UniqueConstraint("number_hash", "kind", name=op.f("uq_suppressions_number_hash")),
    )
    key = current_app.config.get("SUPPRESSION_HASH_KEY") or current_app.config["SECRET_KEY"]
    if not key:
        raise RuntimeError("set SUPPRESSION_HASH_KEY or SECRET_KEY before migrating")
    contacts = sa.table(
        "contacts",
        sa.column("phone", sa.String),
        sa.column("opted_out_at", sa.DateTime(timezone=True)),
        sa.column("do_not_call_at", sa.DateTime(timezone=True)),
    )
    rows = []
    found = op.get_bind().execute(
        sa.select(contacts.c.phone, contacts.c.opted_out_at, contacts.c.do_not_call_at).where(
            sa.or_(contacts.c.opted_out_at.is_not(None), contacts.c.do_not_call_at.is_not(None))
        )
    )
    for phone, opted_out_at, do_not_call_at in found:
        if not phone.startswith("+"):
            continue  # an already-erased contact ("erased-<id>"): its number is gone
        digest = _hash(str(key).encode(), phone)
        for kind, at in (("opt_out", opted_out_at), ("do_not_call", do_not_call_at)):
            if at is not None:
                rows.append(
                    {"number_hash": digest, "kind": kind, "source": "migration", "created_at": at}
                )
    if rows:
        op.bulk_insert(suppressions, rows)


def downgrade():
    op.drop_table("suppressions")
