"""Lines of standard input for the command-line readers (``flask answers parse``, ``flask
comments read``): each line as text, whatever bytes it holds."""

from __future__ import annotations

import sys
from collections.abc import Iterator


def stdin_lines() -> Iterator[str]:
    """Each line without its line end; bytes that are not UTF-8 read as U+FFFD.

    Python's own reading of standard input turns such bytes into lone surrogates, which the
    comment reader's tokenizer refuses (a TypeError that ended the run at that line).
    """
    for raw in sys.stdin.buffer:
        yield raw.decode("utf-8", errors="replace").rstrip("\r\n")
