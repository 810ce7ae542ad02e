"""contacts: one row per number, whatever form it was written in

Before core.phones, a Twilio ``From`` without the "+" ("14155550123") made its own contact
beside "+14155550123", and an opt-out or do-not-call flag on one row was not seen on the
other. Rows whose numbers are one number in E.164 are merged here into one contact:

* the row already holding the E.164 form is kept (else the oldest), and takes that form;
* it is suppressed if any of the rows was (the earliest time kept), and the suppression
  list gets the E.164 hash of each kind (a number stored without "+" may have been hashed
  as written); standing permission to text granted before the opt-out is withdrawn;
* every foreign key to a merged row (found by inspecting the schema) moves to the kept
  one; a second open callback task gives its reasons to the kept row's open task and is
  closed, since a contact has at most one open task.

Numbers are read by ``core.phones.canonical``, the rule the app uses (one definition). The
hash key is the app's (SUPPRESSION_HASH_KEY, else SECRET_KEY), as in d1_suppressions: run it
with the production environment. Plain UPDATE and DELETE only: safe on SQLite and PostgreSQL.
Downgrade changes nothing: merged rows cannot be told apart again.

Revision ID: j1_one_contact_per_number
Revises: i1_survey_vocabulary
Create Date: 2026-11-27 14:00:00.000000

"""

import hashlib
import hmac
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from flask import current_app

from core.phones import canonical

# revision identifiers, used by Alembic.
revision = "j1_one_contact_per_number"
down_revision = "i1_survey_vocabulary"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)
CONTACTS = sa.table(
    "contacts",
    sa.column("id", sa.Integer),
    sa.column("phone", sa.String),
    sa.column("callback_phone", sa.String),
    sa.column("timezone", sa.String),
    sa.column("opted_out_at", WHEN),
    sa.column("do_not_call_at", WHEN),
)
SUPPRESSIONS = sa.table(
    "suppressions",
    sa.column("number_hash", sa.String),
    sa.column("kind", sa.String),
    sa.column("source", sa.String),
    sa.column("created_at", WHEN),
)
TASKS = sa.table(
    "callback_tasks",
    sa.column("id", sa.Integer),
    sa.column("contact_id", sa.Integer),
    sa.column("state", sa.String),
    sa.column("priority", sa.Integer),
    sa.column("reasons", sa.JSON),
    sa.column("scheduled_for", WHEN),
    sa.column("due_at", WHEN),
    sa.column("closed_at", WHEN),
)
CONSENTS = sa.table(
    "text_consents",
    sa.column("contact_id", sa.Integer),
    sa.column("granted_at", WHEN),
    sa.column("withdrawn_at", WHEN),
    sa.column("withdrawn_source", sa.String),
)


def _earliest(*times):
    known = [t for t in times if t is not None]
    return min(known) if known else None


def _hash(number):
    key = current_app.config.get("SUPPRESSION_HASH_KEY") or current_app.config["SECRET_KEY"]
    if not key:
        raise RuntimeError("set SUPPRESSION_HASH_KEY or SECRET_KEY before migrating")
    return hmac.new(str(key).encode(), number.encode(), hashlib.sha256).hexdigest()


def _references(bind):
    """(table, column) of every foreign key to contacts.id."""
    inspector = sa.inspect(bind)
    return [
        (table, column)
        for table in inspector.get_table_names()
        for fk in inspector.get_foreign_keys(table)
        if fk["referred_table"] == "contacts"
        for column in fk["constrained_columns"]
    ]


def _merge_open_tasks(bind, keep_id, merged_ids, now):
    """At most one open task per contact: the others' reasons join the kept one's."""
    open_tasks = bind.execute(
        sa.select(TASKS)
        .where(TASKS.c.contact_id.in_([keep_id, *merged_ids]))
        .where(TASKS.c.closed_at.is_(None))
        .order_by(TASKS.c.contact_id != keep_id, TASKS.c.id)
    ).all()
    if len(open_tasks) < 2:
        return
    first, rest = open_tasks[0], open_tasks[1:]
    bind.execute(
        sa.update(TASKS)
        .where(TASKS.c.id == first.id)
        .values(
            reasons=[*(first.reasons or []), *(r for t in rest for r in (t.reasons or []))],
            priority=max(t.priority for t in open_tasks),
            scheduled_for=min(t.scheduled_for for t in open_tasks),
            due_at=min(t.due_at for t in open_tasks),
        )
    )
    bind.execute(
        sa.update(TASKS)
        .where(TASKS.c.id.in_([t.id for t in rest]))
        .values(state="closed", closed_at=now)
    )


def _suppress(bind, number, kind, at):
    digest = _hash(number)
    held = bind.execute(
        sa.select(SUPPRESSIONS.c.number_hash)
        .where(SUPPRESSIONS.c.number_hash == digest)
        .where(SUPPRESSIONS.c.kind == kind)
    ).first()
    if held is None:
        bind.execute(
            sa.insert(SUPPRESSIONS).values(
                number_hash=digest, kind=kind, source="migration", created_at=at
            )
        )


def _merge(bind, number, rows, references, now):
    keep = next((r for r in rows if r.phone == number), min(rows, key=lambda r: r.id))
    merged = [r for r in rows if r is not keep]
    merged_ids = [r.id for r in merged]
    opted_out_at = _earliest(*(r.opted_out_at for r in rows))
    do_not_call_at = _earliest(*(r.do_not_call_at for r in rows))
    if merged_ids:
        _merge_open_tasks(bind, keep.id, merged_ids, now)
        for table, column in references:
            refs = sa.table(table, sa.column(column, sa.Integer))
            bind.execute(
                sa.update(refs).where(refs.c[column].in_(merged_ids)).values({column: keep.id})
            )
        bind.execute(sa.delete(CONTACTS).where(CONTACTS.c.id.in_(merged_ids)))
    bind.execute(
        sa.update(CONTACTS)
        .where(CONTACTS.c.id == keep.id)
        .values(
            phone=number,
            opted_out_at=opted_out_at,
            do_not_call_at=do_not_call_at,
            callback_phone=keep.callback_phone
            or next((r.callback_phone for r in merged if r.callback_phone), None),
            timezone=keep.timezone or next((r.timezone for r in merged if r.timezone), None),
        )
    )
    for kind, at in (("opt_out", opted_out_at), ("do_not_call", do_not_call_at)):
        if at is not None:
            _suppress(bind, number, kind, at)
    if opted_out_at is not None:  # any opt-out also withdrew permission to text
        bind.execute(
            sa.update(CONSENTS)
            .where(CONSENTS.c.contact_id == keep.id)
            .where(CONSENTS.c.withdrawn_at.is_(None))
            .where(CONSENTS.c.granted_at <= opted_out_at)
            .values(withdrawn_at=opted_out_at, withdrawn_source="opt_out")
        )


def upgrade():
    bind = op.get_bind()
    groups = {}
    for row in bind.execute(sa.select(CONTACTS).order_by(CONTACTS.c.id)).all():
        groups.setdefault(canonical(row.phone), []).append(row)
    stale = {n: rows for n, rows in groups.items() if len(rows) > 1 or rows[0].phone != n}
    if not stale:
        return
    references = _references(bind)
    now = datetime.now(UTC)
    for number, rows in stale.items():
        _merge(bind, number, rows, references, now)


def downgrade():
    pass
