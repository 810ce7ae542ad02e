"""The do-not-call list: add, remove and import numbers (admins and integrations).

Entries live in ``core.suppression`` as keyed hashes, so the list can be checked and
changed by number but never read back as numbers; the page shows when and by whom each
entry was made. Every change is audited there with the hash, never the number.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from core import contacts, events, suppression
from core.db import db
from core.models import Suppression, SuppressionKind, User

DNC = SuppressionKind.DO_NOT_CALL
MAX_IMPORT_BYTES = 2_000_000  # ~100,000 numbers; larger lists go through the API
MAX_SHOWN_INVALID = 50  # invalid rows listed back to the admin; the rest are counted
PER_PAGE = 50


def add_number(raw: str, source: str, actor: int | None) -> tuple[str, bool]:
    """Put a number on the list; its E.164 form and whether it is new.

    Raises:
        contacts.InvalidNumber: ``raw`` is not a phone number.
    """
    number = contacts.to_e164(raw)
    added = suppression.add(number, DNC, source, actor)
    db.session.commit()
    return number, added


def remove_number(raw: str, source: str, actor: int | None) -> tuple[str, bool]:
    """Take a number off the list; its E.164 form and whether it was on it.

    Raises:
        contacts.InvalidNumber: ``raw`` is not a phone number.
    """
    number = contacts.to_e164(raw)
    removed = suppression.remove(number, DNC, source, actor)
    db.session.commit()
    return number, removed


def is_listed(raw: str) -> tuple[str, bool]:
    """Whether a number is on the list (its E.164 form too).

    Raises:
        contacts.InvalidNumber: ``raw`` is not a phone number.
    """
    number = contacts.to_e164(raw)
    return number, DNC in suppression.held(number)


@dataclass
class InvalidRow:
    line: int
    text: str
    reason: str


@dataclass
class ImportReport:
    added: int = 0
    already: int = 0
    invalid: list[InvalidRow] = field(default_factory=list)
    invalid_count: int = 0
    error: str | None = None  # the file as a whole could not be read

    def summary(self) -> str:
        if self.error:
            return self.error
        text = f"Added {self.added} number(s); {self.already} were already on the list."
        if self.invalid_count:
            text += f" {self.invalid_count} row(s) were not phone numbers and were skipped."
        return text


def _rows(data: bytes) -> list[tuple[int, str]]:
    """(line, first cell) of each non-empty row; a header row without digits is skipped.

    Raises:
        UnicodeDecodeError: the file is not UTF-8 text.
    """
    text = data.decode("utf-8-sig")  # spreadsheets often save a BOM
    rows: list[tuple[int, str]] = []
    for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cell = next((c.strip() for c in row if c.strip()), "")
        if not cell:
            continue
        if not rows and line == 1 and not any(ch.isdigit() for ch in cell):
            continue  # "number", "phone", …
        rows.append((line, cell))
    return rows


def import_csv(data: bytes, actor: int | None) -> ImportReport:
    """Add every number of a CSV (one per row, first non-empty cell); report invalid rows."""
    report = ImportReport()
    if len(data) > MAX_IMPORT_BYTES:
        report.error = f"The file is larger than {MAX_IMPORT_BYTES // 1_000_000} MB."
        return report
    try:
        rows = _rows(data)
    except (UnicodeDecodeError, csv.Error):
        report.error = "That file is not a CSV text file (UTF-8)."
        return report
    for line, cell in rows:
        try:
            number = contacts.to_e164(cell)
        except contacts.InvalidNumber:
            report.invalid_count += 1
            if len(report.invalid) < MAX_SHOWN_INVALID:
                report.invalid.append(InvalidRow(line, cell[:40], "not a phone number"))
            continue
        if suppression.add(number, DNC, "import", actor):
            report.added += 1
        else:
            report.already += 1
    events.record(
        "dnc.imported",
        user_id=actor,
        data={
            "added": report.added,
            "already": report.already,
            "invalid": report.invalid_count,
        },
    )
    db.session.commit()
    return report


@dataclass(frozen=True)
class Entry:
    number_hash: str
    created_at: datetime
    source: str
    created_by: str | None


@dataclass(frozen=True)
class EntryPage:
    entries: list[Entry]
    total: int
    page: int
    pages: int


def entries(page: int = 1) -> EntryPage:
    """The list, newest first, one page at a time."""
    where = Suppression.kind == DNC
    total = db.session.scalar(select(func.count(Suppression.id)).where(where)) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(1, page), pages)
    rows = db.session.execute(
        select(Suppression, User.email)
        .outerjoin(User, Suppression.created_by_id == User.id)
        .where(where)
        .order_by(Suppression.created_at.desc(), Suppression.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    return EntryPage(
        entries=[Entry(s.number_hash, s.created_at, s.source, email) for s, email in rows],
        total=total,
        page=page,
        pages=pages,
    )
