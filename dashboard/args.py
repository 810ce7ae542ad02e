"""Values from the dashboard's query strings, forms and paths that a query can take.

An id past the id columns makes PostgreSQL refuse the statement (SQLite past 64 bits), and
a day next to the calendar's ends has no day after it to end a range: each is read as not
given (a filter) or not found (a path), never sent on to fail. Text with a NUL character,
which PostgreSQL cannot store, is refused before any view (``core.nul.refuse_nul``).
"""

from __future__ import annotations

from datetime import date

from core.twilio_params import MAX_DB_INT

# A path segment that is a row id: a larger number matches no route (404), like a missing row.
ID = f"int(max={MAX_DB_INT})"
# Days a filter may name: around any call this product holds, far from date.min and date.max.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)


def int_arg(value: str | None) -> int | None:
    """A whole number from 1 to the id columns' maximum; None when missing or not one."""
    try:
        number = int(value) if value else None
    except ValueError:
        return None
    return number if number is not None and 0 < number <= MAX_DB_INT else None


def date_arg(value: str | None) -> date | None:
    """A day (YYYY-MM-DD) from FIRST_DAY to LAST_DAY; None when missing or not one."""
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day is not None and FIRST_DAY <= day <= LAST_DAY else None
