"""Statuses that only move forward, checked by the database against the row as written.

Twilio posts status callbacks at once and never again: a move decided on a copy read
earlier would let a "ringing" read before a "completed" was committed overwrite it, or
let two endings both think they ended the row. One conditional UPDATE decides instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, or_, update
from sqlalchemy.orm import InstrumentedAttribute

from core.db import db

S = TypeVar("S")


def move_forward(
    column: InstrumentedAttribute[Any],
    row: ColumnElement[bool],
    to: S,
    *,
    among: Iterable[S],
    rank: Callable[[S], int],
    or_unranked: bool = False,
    copy: object = None,
    values: Mapping[str, object] | None = None,
) -> bool:
    """Set ``column`` to ``to`` (and the columns in ``values``) on the row ``row``
    picks, if its value as written is one of ``among`` ranked below ``to``; True if this
    call moved it.

    ``or_unranked`` also moves a row whose value is none of ``among`` (a value Twilio
    added since). ``copy``, the caller's instance of the row, is read again after the
    UPDATE, moved or not: the row may be past ``to`` by another request's doing.
    """
    known = tuple(among)
    lower = [s for s in known if rank(s) < rank(to)]
    if not lower:
        return False
    where = or_(column.in_(lower), column.not_in(known)) if or_unranked else column.in_(lower)
    result = db.session.execute(
        update(column.class_)
        .where(row)
        .where(where)
        .values({column.key: to, **(values or {})})
        .execution_options(synchronize_session=False)
    )
    if copy is not None:
        db.session.refresh(copy)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
