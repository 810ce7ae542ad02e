"""What the words around a cue say about it: negation, reported speech, a worry that is
over, a declined call; and where a comment's clauses are.

Decisions worth knowing:
    * "I was worried at first but you fixed it": past-tense worry followed by a
      resolution is not distress (no urgent callback). Present worry always counts,
      even if the caller also says something was fixed.
    * "don't stop calling me": the opt-out cue is negated, so nothing is flagged.
    * "she said someone would call me back" reports a promise; it is not a request.
"""

from __future__ import annotations

import re

from transcription.cues import CURLY, Cue

# Where a negation stops reaching: sentence punctuation or a contrast word
# ("not angry, just disappointed").
_CLAUSE_BREAK = re.compile(
    r"[.!?;,]|\b(?:but|though|although|however|except|just)\b", re.IGNORECASE
)
WORD = re.compile(rf"[\w'{CURLY}]+")
_NEGATORS = frozenset(
    {"not", "no", "never", "nothing", "none", "without", "hardly", "stop", "nobody"}
)
# Whisper often drops the apostrophe.
_BARE_NEGATIONS = frozenset(
    {"dont", "didnt", "doesnt", "isnt", "wasnt", "werent", "arent", "cant", "couldnt", "wont"}
    | {"wouldnt", "havent", "hasnt", "shouldnt", "aint"}
)
# "no rush to call me back" is still a request.
_NOT_NEGATION = re.compile(r"\bno (?:rush|hurry|pressure)\b", re.IGNORECASE)
# "she said someone would call me back" reports a promise, it is not a request;
# "why did you ring me at 8am" is a complaint about a call, not a request.
_REPORTED = frozenset({"said", "promised", "supposed", "told", "why"})
_PAST = frozenset({"was", "were", "been", "felt"})
# Words telling us an earlier worry is over (the 1.2 list; ``cues_2`` has a wider one).
RESOLVED_1_2 = re.compile(
    r"\b(?:fixed|sorted|resolved|calmed me down|put my mind at ease|reassured"
    r"|all good now|came through|(?:fine|ok|okay|good|sorted) now"
    r"|now (?:i'?m|i am|it'?s|it is|all) (?:fine|ok|okay|good|sorted))\b",
    re.IGNORECASE,
)
# An offer or a refusal in the same sentence cancels a contact request.
_CONTACT_DECLINED = re.compile(r"\b(?:not necessary|if you need|if needed)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?]")

_WINDOW = {"distress": 4, "negative": 3, "contact_request": 4, "opt_out": 2}

# Why a cue was dropped; the learned model sees these as features.
NEGATED, REPORTED, DECLINED, RESOLVED_WORRY = "negated", "reported", "declined", "resolved"
OTHER_SENSE = "other_sense"  # the words mean something else here ("take me off hold")
REASONS = (NEGATED, REPORTED, DECLINED, RESOLVED_WORRY, OTHER_SENSE)


def preceding_words(text: str, start: int, count: int) -> list[str]:
    """The last ``count`` words of the clause that ends at ``start``, lowercased."""
    clause_start = 0
    for match in _CLAUSE_BREAK.finditer(text, 0, start):
        clause_start = match.end()
    clause = _NOT_NEGATION.sub(" ", text[clause_start:start])
    return [w.lower().replace(CURLY, "'") for w in WORD.findall(clause)][-count:]


def is_negator(word: str) -> bool:
    return word in _NEGATORS or word.endswith("n't") or word in _BARE_NEGATIONS


# Without punctuation a negation still ends: its verb took an object or a new subject
# starts ("don't call me email me", "stop them and ring me instead", "nobody cares i need a
# call"). Leave-one-author-out with the reader's negation veto: contact_request F1 0.84 ->
# 0.87.
_NEGATION_ENDS = frozenset({"me", "us", "i", "he", "she", "we", "they", "and"})


def reaches(words: list[str]) -> bool:
    """Whether a negator among ``words`` (the clause before a cue) still reaches the cue."""
    negated = False
    for word in words:
        if is_negator(word):
            negated = True
        elif word in _NEGATION_ENDS:
            negated = False
    return negated


def _sentence(text: str, start: int, end: int) -> str:
    lo = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    after = _SENTENCE_END.search(text, end)
    return text[lo : after.start() if after else len(text)]


def cancellation(
    cue: Cue, text: str, start: int, end: int, resolved: re.Pattern[str] = RESOLVED_1_2
) -> str | None:
    """Why the context says this cue doesn't mean what it seems to (None: it counts).

    ``resolved`` finds the words that say an earlier worry is over.
    """
    words = preceding_words(text, start, _WINDOW[cue.label])
    if cue.negatable and reaches(words):
        return NEGATED
    if cue.label == "contact_request":
        if any(w in _REPORTED for w in words):
            return REPORTED
        if _CONTACT_DECLINED.search(_sentence(text, start, end)):
            return DECLINED
    if (
        cue.label == "distress"
        and cue.negatable
        and any(w in _PAST for w in words)
        and resolved.search(text, end) is not None
    ):
        # Past worry followed by a resolution: the caller is fine now.
        return RESOLVED_WORRY
    return None


# Clauses for explaining a label the cues did not catch: sentences, cut again at commas and
# at the words that start a new thought (not "so" or "and": "so lost and alone" is one).
# Whisper often writes no punctuation at all.
_CLAUSE_CUT = re.compile(
    r"[.!?;:,]+|\s(?=(?:but|though|although|however|because|cos|anyway)\b)",
    re.IGNORECASE,
)
MIN_CLAUSE_WORDS = 3


def clauses(text: str) -> list[tuple[int, int]]:
    """Spans of the clauses of ``text`` worth showing on their own (at least 3 words).

    Short fragments ("ta", "right") are merged into the clause before them, so a phrase
    always reads as a piece of the comment.
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    for cut in [*_CLAUSE_CUT.finditer(text), None]:
        end = cut.start() if cut else len(text)
        start, stop = _trim(text, pos, end)
        if stop > start:
            if spans and len(WORD.findall(text[start:stop])) < MIN_CLAUSE_WORDS:
                spans[-1] = (spans[-1][0], stop)
            else:
                spans.append((start, stop))
        pos = cut.end() if cut else len(text)
    if len(spans) > 1 and len(WORD.findall(text[slice(*spans[0])])) < MIN_CLAUSE_WORDS:
        spans[:2] = [(spans[0][0], spans[1][1])]
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop surrounding spaces, dashes and quotes, keeping the span inside the text."""
    while start < end and not (text[start].isalnum() or text[start] in "'\u2019"):
        start += 1
    while end > start and not (text[end - 1].isalnum() or text[end - 1] in "'\u2019"):
        end -= 1
    return start, end


# A clause longer than this many words is also cut into consecutive windows: Whisper often
# writes a whole comment as one unpunctuated clause, and a short "take me off your list"
# inside it would otherwise be diluted in one long mean. Windows do not overlap: each word
# is encoded once more at most, which keeps a long comment's reading within budget.
LONG_CLAUSE_WORDS = 14
WINDOW_WORDS = 10


def units(text: str) -> list[tuple[int, int]]:
    """Spans the reader embeds on their own: the clauses, long ones cut into windows (a
    short tail joins the window before it)."""
    found: list[tuple[int, int]] = []
    for start, end in clauses(text) or [_trim(text, 0, len(text))]:
        words = list(WORD.finditer(text, start, end))
        if len(words) <= LONG_CLAUSE_WORDS:
            found.append((start, end))
            continue
        firsts = list(range(0, len(words), WINDOW_WORDS))
        if len(words) - firsts[-1] < WINDOW_WORDS // 2:
            firsts.pop()
        lasts = [*(k - 1 for k in firsts[1:]), len(words) - 1]
        found += [(words[a].start(), words[b].end()) for a, b in zip(firsts, lasts, strict=True)]
    return [(s, e) for s, e in found if e > s]
