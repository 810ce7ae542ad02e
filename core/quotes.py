"""Quoting a caller: their own sentence around a phrase, trimmed to a readable clause.

Agents read the quote aloud (the apology script) or hear it (the warm-transfer whisper), so
it must be the caller's words, verbatim, short enough to say in one breath, and honest about
any cut: an ellipsis marks every place words were left out.

Decisions:
    * The sentence holding the phrase is quoted whole when it has at most ``MAX_WORDS``.
    * A longer sentence is cut at clause breaks (commas, semicolons, colons, dashes): the
      clause with the phrase, then its neighbours while they fit.
    * A single clause that is still too long (Whisper often writes no punctuation) keeps a
      window of words centred on the phrase.
    * A full stop that ends the quote is dropped (the quote sits inside a sentence of ours);
      a question or exclamation mark is the caller's and stays.
"""

from __future__ import annotations

import re

MAX_WORDS = 25
ELLIPSIS = "…"
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n")
_WORD = re.compile(r"\S+")
DASHES = "\u2014\u2013-"  # em dash, en dash, hyphen standing alone
_CLAUSE_END = re.compile(rf"[,;:]$|^[{DASHES}]$")


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """Bounds of the sentence holding ``text[start:end]`` (with its closing mark)."""
    begin = 0
    for mark in _SENTENCE_END.finditer(text, 0, start):
        begin = mark.end()
    close = _SENTENCE_END.search(text, end)
    return begin, close.end() if close else len(text)


def _clauses(words: list[str]) -> list[tuple[int, int]]:
    """Word-index ranges (inclusive) of the clauses, cut after , ; : and at dashes."""
    ranges, first = [], 0
    for i, word in enumerate(words):
        if _CLAUSE_END.search(word) and i < len(words) - 1:
            ranges.append((first, i))
            first = i + 1
    ranges.append((first, len(words) - 1))
    return ranges


def _window(cue: tuple[int, int], bounds: tuple[int, int], limit: int) -> tuple[int, int]:
    """Grow ``cue`` one word at a time, after then before, within ``bounds``, to ``limit``."""
    first, last = cue
    if last - first + 1 >= limit:
        return first, first + limit - 1
    grew = True
    while grew and last - first + 1 < limit:
        grew = False
        if last < bounds[1]:
            last, grew = last + 1, True
        if first > bounds[0] and last - first + 1 < limit:
            first, grew = first - 1, True
    return first, last


def _span_words(clauses: list[tuple[int, int]], k: int, limit: int) -> tuple[int, int]:
    """The clause ``k`` and its neighbours (next first) while the words stay within limit."""
    first, last = clauses[k]
    before, after = k - 1, k + 1
    while True:
        if after < len(clauses) and clauses[after][1] - first + 1 <= limit:
            last, after = clauses[after][1], after + 1
        elif before >= 0 and last - clauses[before][0] + 1 <= limit:
            first, before = clauses[before][0], before - 1
        else:
            return first, last


def around(text: str, start: int, end: int, max_words: int = MAX_WORDS) -> str:
    """The caller's sentence holding ``text[start:end]``, at most ``max_words`` words, with
    an ellipsis wherever words were cut."""
    begin, finish = _sentence(text, start, end)
    matches = list(_WORD.finditer(text, begin, finish))
    if not matches:
        return text[start:end].strip()
    words = [m.group() for m in matches]
    cue = [i for i, m in enumerate(matches) if m.start() < end and m.end() > start] or [0]
    if len(words) <= max_words:
        first, last = 0, len(words) - 1
    else:
        clauses = _clauses(words)
        k = next(n for n, (a, b) in enumerate(clauses) if a <= cue[0] <= b)
        first, last = clauses[k]
        if last - first + 1 > max_words or cue[-1] > last:
            first, last = _window((cue[0], cue[-1]), (0, len(words) - 1), max_words)
        else:
            first, last = _span_words(clauses, k, max_words)
    quote = text[matches[first].start() : matches[last].end()]
    quote = quote.rstrip(f",;: {DASHES}")
    if quote.endswith(".") and not quote.endswith(".."):
        quote = quote[:-1]
    return (ELLIPSIS if first > 0 else "") + quote + (ELLIPSIS if last < len(words) - 1 else "")


def find(text: str, phrase: str) -> tuple[int, int] | None:
    """Where ``phrase`` first occurs in ``text``, ignoring case."""
    at = text.lower().find(phrase.lower())
    return None if at < 0 else (at, at + len(phrase))


def trim(text: str, max_words: int = MAX_WORDS) -> str:
    """``text`` whole when short enough, else its first ``max_words`` words and an ellipsis."""
    words = text.split()
    if len(words) <= max_words:
        return " ".join(words).rstrip(".")
    return " ".join(words[:max_words]).rstrip(f",;: {DASHES}") + ELLIPSIS
