"""CSV export of the flagged list (same rows, same reasons as the page)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from dashboard.queries import Row

HEADER = [
    "time_utc",
    "survey",
    "caller",
    "nps",
    "csat",
    "reasons",
    "transcript_snippet",
    "callback_state",
    "callback_outcome",
    "minutes_to_callback",
    "sla",
    "test_call",
]


def _cell(value: object) -> str:
    """Text for one cell; a leading = + - @ is neutralised so spreadsheets do not run it."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def to_csv(rows: Iterable[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for row in rows:
        s = row.session
        cb = row.callback
        ttc = row.time_to_callback
        sla = cb.sla_met() if cb else None
        writer.writerow(
            [
                _cell(s.created_at.strftime("%Y-%m-%d %H:%M")),
                _cell(row.survey_name),
                _cell(row.caller),
                _cell(row.scores.get("nps")),
                _cell(row.scores.get("csat")),
                _cell("; ".join(r.label for r in row.reasons)),
                _cell(row.snippet),
                _cell(cb.state if cb else ""),
                _cell(cb.outcome if cb else ""),
                _cell(round(ttc.total_seconds() / 60, 1) if ttc is not None else ""),
                "met" if sla is True else "missed" if sla is False else "",
                "yes" if s.is_test else "",
            ]
        )
    return out.getvalue()
