"""Short readable names for themes from their most distinctive words (class-based TF-IDF).

Each theme's comments are one "class". A term (a word, or two content words side by side)
scores ``tf * log(1 + A / f)``: ``tf`` the share of the theme's comments that use it, ``f``
how many comments of every theme use it, ``A`` the average theme size (Grootendorst's
c-TF-IDF, counted per comment so one long comment cannot name a theme). The name is the top
two or three terms that at least two of its comments share, e.g. "Refund, money back, weeks".
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

NAME_TERMS = 3
MAX_NAME_CHARS = 60
UNNAMED = "Other comments"

# Common English words, speech fillers and survey small talk: never distinctive of a topic.
STOPWORDS = frozenset(
    """
    a about above after again against all almost also am an and any are aren't around as
    at be because been before being below between both but by can can't cannot could
    couldn't did didn't do does doesn't doing don't done down during each either else even
    ever every few for from further get gets getting got gonna had hadn't has hasn't have
    haven't having he he'd he'll he's her here here's hers herself him himself his how
    how's i i'd i'll i'm i've if in into is isn't it it's its itself just let's like lot
    lots me more most much must mustn't my myself no nor not now of off on once one only or
    other ought our ours ourselves out over own quite rather really same say said says
    shan't she she'd she'll she's should shouldn't so some still such than that that's the
    their theirs them themselves then there there's these they they'd they'll they're
    they've thing things this those though through to too under until up upon us very was
    wasn't we we'd we'll we're we've well were weren't what what's when when's where
    where's whether which while who who's whom why why's will with won't would wouldn't
    yet you you'd you'll you're you've your yours yourself yourselves
    um uh er erm ah oh eh hmm mm yeah yep yes yea ya no nah okay ok right so like honestly
    basically actually literally kind sort bit anyway anyways know mean guess think
    bloody wanna gotta maybe probably pretty please someone anyone somebody anybody nobody
    want wanted came come comes went going told tell make made take took put need needed
    keep kept let way
    """.split()  # noqa: SIM905 - a block of words reads better than a 300-item list
)
WORD = re.compile(r"[a-z][a-z']*")


def _key(word: str) -> str:
    """A crude stem, so "refund"/"refunds" and "charge"/"charges" count as one term."""
    word = word.removesuffix("'s")
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(text: str) -> dict[str, str]:
    """The comment's terms by key, each with the surface form used: content words, and
    pairs of content words that stand side by side."""
    found: dict[str, str] = {}
    previous: tuple[str, str] | None = None
    for raw in WORD.findall(text.lower()):
        word = raw.strip("'").removesuffix("'s")
        if len(word) < 3 or word in STOPWORDS:
            previous = None
            continue
        key = _key(word)
        found.setdefault(key, word)
        if previous is not None:
            found.setdefault(f"{previous[0]} {key}", f"{previous[1]} {word}")
        previous = (key, word)
    return found


Row = tuple[float, str, str, int]  # score, key, surface form, comments using it


def _score(groups: Sequence[Sequence[str]]) -> list[list[Row]]:
    """Per group: each term's row, best first."""
    per_group: list[Counter[str]] = []
    forms: Counter[tuple[str, str]] = Counter()
    for texts in groups:
        counts: Counter[str] = Counter()
        for text in texts:
            found = terms(text)
            counts.update(found.keys())
            forms.update(found.items())
        per_group.append(counts)
    overall: Counter[str] = Counter()
    for counts in per_group:
        overall.update(counts)
    average = max(1.0, sum(len(t) for t in groups) / max(1, len(groups)))
    best_form: dict[str, str] = {}
    for (key, form), _n in forms.most_common():
        best_form.setdefault(key, form)
    scored = []
    for texts, counts in zip(groups, per_group, strict=True):
        size = max(1, len(texts))
        # Terms two comments share, not one caller's word; any term if none is shared.
        support = 2 if max(counts.values(), default=0) >= 2 else 1
        rows = [
            ((n / size) * math.log(1 + average / overall[key]), key, best_form[key], n)
            for key, n in counts.items()
            if n >= support
        ]
        rows.sort(key=lambda row: (-row[0], row[1]))
        scored.append(rows)
    return scored


def _same_word(a: str, b: str) -> bool:
    """ "remove"/"removed", "callback"/"call back": one word in two spellings."""
    a, b = a.replace(" ", ""), b.replace(" ", "")
    return a == b or (min(len(a), len(b)) >= 5 and (a.startswith(b) or b.startswith(a)))


def _overlaps(key: str, chosen: list[str]) -> bool:
    parts = set(key.split())
    return any(parts & set(other.split()) or _same_word(key, other) for other in chosen)


def _phrase(row: Row, rows: list[Row]) -> Row:
    """The two-word term a word nearly always comes in ("direct debit" for "debit")."""
    _, key, _, n = row
    if " " in key:
        return row
    pairs = [r for r in rows if " " in r[1] and key in r[1].split() and r[3] >= 0.75 * n]
    return max(pairs, key=lambda r: r[3], default=row)


def name_from(rows: list[Row]) -> str:
    """Up to ``NAME_TERMS`` best terms that share no word, scoring at least half the best."""
    chosen: list[str] = []
    forms: list[str] = []
    for row in rows:
        if len(chosen) == NAME_TERMS or (chosen and row[0] < rows[0][0] / 2):
            break
        _, key, form, _ = _phrase(row, rows)
        if _overlaps(key, chosen):
            continue
        chosen.append(key)
        forms.append(form)
    if not forms:
        return UNNAMED
    name = ", ".join(forms)
    if len(name) > MAX_NAME_CHARS:
        name = name[:MAX_NAME_CHARS].rsplit(",", 1)[0]
    return name[0].upper() + name[1:]


def names(groups: Sequence[Sequence[str]]) -> list[str]:
    """A name for each group of comment texts, distinctive against the other groups."""
    return [name_from(rows) for rows in _score(groups)]
