"""The score in a spoken reply: which number the caller gives as their answer.

A reply often holds numbers that are not the score ("I called three times. Six.", "ten out
of ten", "on hold for 40 minutes, so a four"), hedges ("probably a seven"), corrections
("seven, no, eight") and ranges ("seven or eight"). Each number said is read with what
surrounds it; the score is the one number left standing, the last one after a correction,
or nothing when the caller gave two different scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from replies.words import PAUSE, wordset

_UNITS = {
    "zero": 0, "nought": 0, "naught": 0, "nil": 0, "zilch": 0,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALE_WORDS = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
# Words a recogniser writes for a lone number; trusted only when they are the whole reply.
_SOUNDALIKES = {"won": 1, "to": 2, "too": 2, "for": 4, "fore": 4, "ate": 8}

# A number followed by one of these counts something else: "three times", "40 minutes".
_COUNTED = wordset(
    """time times minute minutes min mins hour hours hrs day days week weeks month months year
    years second seconds secs call calls attempt attempts try tries go goes people person persons
    agent agents rep reps staff engineer engineers technician technicians visit visits email emails
    text texts message messages letter letters pound pounds quid dollar dollars buck bucks euro
    euros rupee rupees cent cents pence p grand k am pm oclock kid kids child children item items
    thing things issue issues problem problems question questions bill bills charge charges payment
    payments transfer transfers department departments number numbers digit digits different
    other more whole long extra odd occasions occasion rings ring floors floor phones lines
    line accounts orders tickets boxes devices st nd rd th"""
)
# A number after one of these names something: "order 12345", "option 2", "since 2019".
_NAMING = wordset(
    """number option press pressed extension ticket order reference ref account case room flat
    apartment step page version year since until till in by channel route bus"""
)
# "the one I spoke to", "no one", "one of them": "one" as a pronoun, not a score.
_ONE_BEFORE = wordset(
    "the that this no any every some each which another other little only someone anyone got "
    "get had have has need needed want wanted found find top bottom last first best worst same "
    "new old right wrong big middle lowest highest st nd rd th"
)
_ONE_AFTER = wordset(
    "of more thing things day time way bit point another minute second question issue"
)
NEGATORS = frozenset({"not", "never", "hardly", "barely"})
_SOFT = wordset(
    "a an even quite exactly really actually necessarily totally the full solid definite"
)
# A score named by its place: "give it a", "i would say", "rate it", "a solid".
_MARKERS = wordset(
    "give gave giving rate rating rated score scored say mark put call solid strong good definite "
    "firm perfect easy easily high low"
)
_RATING_VERBS = wordset("give gave rate rated score scored say call put mark")
_COMPARATORS = (
    ("more", "than"), ("less", "than"), ("higher", "than"), ("lower", "than"),
    ("better", "than"), ("worse", "than"), ("at", "most"), ("not", "quite"), ("up", "to"),
    ("over",), ("under",), ("above",), ("below",), ("nearly",), ("almost",), ("minus",),
    ("negative",),
)  # fmt: skip
# A correction or a decision: the numbers after it replace the ones before.
CORRECTIONS = (
    ("no",), ("sorry",), ("actually",), ("i", "mean"), ("make", "that"), ("make", "it"),
    ("scratch", "that"), ("wait",), ("rather",), ("correction",), ("on", "second", "thought"),
    ("on", "second", "thoughts"), ("hang", "on"), ("hold", "on"), ("change", "that"),
    ("change", "it"), ("let", "us", "say"), ("let", "us", "go", "with"), ("go", "with"),
    ("call", "it"), ("i", "will", "say"), ("i", "will", "go"), ("no", "wait"),
    ("or", "rather"), ("let", "me", "say"), ("i", "would", "go", "with"),
)  # fmt: skip
_CLAUSE_JOINS = wordset("but so though although whereas otherwise")
_HYPOTHETICAL = (
    ("would", "have"), ("could", "have"), ("might", "have"), ("would", "be"), ("last", "time"),
    ("usually",), ("normally",), ("used", "to"), ("unless",),
)  # fmt: skip
_NOT_A_PAUSE = wordset("the a long short that this your my of")
_TOP_SCORE = (
    ("full", "marks"), ("top", "marks"), ("top", "score"), ("perfect", "score"),
    ("full", "score"), ("maximum",), ("max",),
)  # fmt: skip
TOP = -1  # "full marks": the top of whatever scale was asked
# Every number at or past this is read as this: far past any score, count or year, and finite.
_PAST_ANY = 1e9


@dataclass
class Said:
    """One number in the reply and what its neighbours say about it."""

    value: float
    start: int
    end: int  # one past the last word
    denominator: int | None = None
    marked: bool = False  # named as the score: "give it a ...", "... out of ten"
    vague: bool = False  # a range, a half, a comparison: the caller has not chosen
    ignored: bool = False  # counts or names something else, or is denied ("not a ten")
    hypothetical: bool = False  # "it would have been a ten if ...": not the score given


def _number_at(words: list[str], i: int) -> tuple[float, int] | None:
    """The number starting at word ``i`` and the index after it, if one starts there."""
    word = words[i]
    if word.replace(".", "", 1).isdigit():
        return _written(word), i + 1
    if word == "a" and i + 1 < len(words) and words[i + 1] in _SCALE_WORDS:
        return float(_SCALE_WORDS[words[i + 1]]), i + 2
    value: float
    if word in _UNITS:
        value, j = _UNITS[word], i + 1
    elif word in _TEENS:
        value, j = _TEENS[word], i + 1
    elif word in _TENS:
        value, j = _TENS[word], i + 1
        if j < len(words) and words[j] in _UNITS and _UNITS[words[j]] > 0:
            value, j = value + _UNITS[words[j]], j + 1
    elif word in _SCALE_WORDS:
        return float(_SCALE_WORDS[word]), i + 1
    else:
        return None
    while j < len(words) and words[j] in _SCALE_WORDS:  # "one hundred", "a hundred and ten"
        value, j = min(value * _SCALE_WORDS[words[j]], _PAST_ANY), j + 1
        # Read once: calling twice per "and" doubled the work with each "hundred and".
        more = _number_at(words, j + 1) if j + 1 < len(words) and words[j] == "and" else None
        if more is not None:
            value, j = min(value + more[0], _PAST_ANY), more[1]
    return value, j


def _written(word: str) -> float:
    """A number in digits, bounded: past ``_PAST_ANY`` it is read as that (never a score)."""
    whole, _, fraction = word.partition(".")
    whole = whole.lstrip("0") or "0"
    if len(whole) > len(str(int(_PAST_ANY))):  # float("9" * 400) is inf
        return _PAST_ANY
    return min(float(f"{whole}.{fraction[:6] or '0'}"), _PAST_ANY)


def _fraction_written(word: str) -> bool:
    """ "8.5", "0.9999999999999999999": a part after the point that is not all zeros."""
    return word.partition(".")[2].strip("0") != ""


def _follows(words: list[str], i: int, phrase: tuple[str, ...]) -> bool:
    return tuple(words[i : i + len(phrase)]) == phrase


def _precedes(words: list[str], i: int, phrase: tuple[str, ...]) -> bool:
    return i >= len(phrase) and tuple(words[i - len(phrase) : i]) == phrase


def _numbers(words: list[str]) -> list[Said]:
    said: list[Said] = []
    i = 0
    while i < len(words):
        found = _number_at(words, i)
        if found is None:
            top = next((p for p in _TOP_SCORE if _follows(words, i, p)), None)
            if top is not None:
                said.append(Said(TOP, i, i + len(top), marked=True))
                i += len(top)
            else:
                i += 1
            continue
        value, end = found
        said.append(Said(value, i, end))
        i = end
    return said


def _read_surroundings(words: list[str], said: list[Said]) -> None:
    """Mark each number as a denominator, a count, a name, denied, vague or the score."""
    hypothetical = _hypothetical_words(words)
    for k, item in enumerate(said):
        if item.value == TOP:
            continue
        before = words[max(0, item.start - 3) : item.start]
        after = words[item.end : item.end + 3]
        nxt = after[0] if after else ""
        prev = before[-1] if before else ""
        # "eight out of ten", "eight over ten": ten is the scale, eight is marked.
        if k + 1 < len(said):
            gap = words[item.end : said[k + 1].start]
            scale_end = said[k + 1].value in (5, 10)
            if gap in (["out", "of"], ["of"], ["over"], ["on"], ["from"]) and scale_end:
                item.denominator, item.marked = int(said[k + 1].value), True
                said[k + 1].ignored = True
            elif gap in (["or"], ["to"], ["and"], ["or", "a"], ["or", "an"], ["or", "maybe"]):
                if gap == ["to"] and item.value in (0, 1) and scale_end:
                    item.ignored = said[k + 1].ignored = True  # "zero to ten": the scale named
                elif gap != ["and"] or prev == "between":
                    item.vague = said[k + 1].vague = True  # "seven or eight", "between 7 and 8"
        if item.ignored:
            continue
        if nxt in ("stars", "star"):
            item.denominator, item.marked = (5 if item.value <= 5 else None), True
        item.ignored = (
            ((prev == "scale" or before[-2:] == ["scale", "of"]) and item.value in (0, 1, 5, 10))
            or nxt in _COUNTED  # "three times", "40 minutes"
            or (nxt == "of" and after[1:2] != ["ten"])  # "one of them"
            or prev in _NAMING  # "order 12345"
            or item.value >= 1000
            or (words[item.start] == "one" and _pronoun_one(words, item.start))
            or _denied(words, item.start)  # "not a ten"
        )
        halves = nxt in ("point", "half") or after in (["and", "a", "half"], ["and", "a", "bit"])
        if item.value != int(item.value) or halves or _fraction_written(words[item.start]):
            item.vague = True
        if any(_precedes(words, item.start, c) or _precedes(words, item.start - 1, c)
               for c in _COMPARATORS):  # fmt: skip
            item.vague = True
        if any(w in _MARKERS for w in before) or nxt == "percent":
            item.marked = True
        item.hypothetical = hypothetical[item.start]


def _hypothetical_words(words: list[str]) -> list[bool]:
    """For each word, whether its clause (between pauses and "but") is hypothetical.

    Each clause is read once: reading it again for every number in it was quadratic.
    """
    flags: list[bool] = []
    start = 0
    for end in range(len(words) + 1):
        if end == len(words) or words[end] == PAUSE or words[end] in _CLAUSE_JOINS:
            flags.extend([_hypothetical(words[start:end])] * (end - start))
            flags.append(False)  # the pause or join itself
            start = end + 1
    return flags


def _hypothetical(clause: list[str]) -> bool:
    return "if" in clause or any(
        tuple(clause[k : k + len(p)]) == p for k in range(len(clause)) for p in _HYPOTHETICAL
    )


def _pronoun_one(words: list[str], start: int) -> bool:
    """ "the one I spoke to", "one of them", but not "make that one"."""
    if any(_precedes(words, start, c) for c in CORRECTIONS if c != ("no",)):
        return False
    prev = words[start - 1] if start else ""
    nxt = words[start + 1] if start + 1 < len(words) else ""
    return prev in _ONE_BEFORE or nxt in _ONE_AFTER


def _denied(words: list[str], start: int) -> bool:
    """ "not a ten", "never a 10", "would not give it a ten"."""
    j = start - 1
    while j >= 0 and words[j] in _SOFT:
        j -= 1
    if j >= 0 and words[j] in NEGATORS:
        return True
    # "would not give it a ten", "i can not say it is a ten", "never gave them a 10"
    window = words[max(0, start - 6) : start]
    if PAUSE in window:
        window = window[len(window) - window[::-1].index(PAUSE) :]
    return any(w in NEGATORS and nxt in _RATING_VERBS for w, nxt in pairwise(window))


def is_correction(words: list[str], i: int) -> bool:
    """A correction starts at word ``i``; "wait" only as a word, not "the wait was long"."""
    if words[i] == "wait" and i > 0 and words[i - 1] in _NOT_A_PAUSE:
        return False
    return any(_follows(words, i, c) for c in CORRECTIONS)


def _after_last_correction(words: list[str], said: list[Said]) -> list[Said]:
    """The numbers after the last correction that follows a number: "seven, no, eight"."""
    first, final = said[0].start, said[-1].start  # in the order said
    last = None
    for i in range(first + 1, final):
        if is_correction(words, i):
            last = i
    if last is None:
        return said
    return [s for s in said if s.start > last]


def read_score(text: str, low: int, high: int, *, whole: bool = True) -> int | None:
    """The score given in a normalised reply, on the scale ``low..high``, or None.

    None when no number is given, when it is out of range or on another scale ("four out
    of five" to a 0-10 question), or when the caller has not settled on one ("seven or
    eight", "seven and a half"). ``whole=False``: the text is what is left of a reply after
    a request was taken out, so a lone soundalike there ("to") is not a number.
    """
    words = text.split()
    said = _numbers(words)
    if not said:
        return _soundalike(words, low, high) if whole else None
    _read_surroundings(words, said)
    live = [s for s in said if not s.ignored]
    if not live:
        return None
    if any(not s.hypothetical for s in live):  # "a ten if you had called back, so a six"
        live = [s for s in live if not s.hypothetical]
    for s in live:
        if s.value == TOP:  # "full marks": the top of this scale
            s.value = high
    live = _after_last_correction(words, live)
    for s in live:
        if _follows(words, s.end, ("instead",)):  # "eight, well nine instead"
            live = [s]
            break
    if len({s.value for s in live}) > 1:
        marked = [s for s in live if s.marked]
        if marked and len({s.value for s in marked}) == 1:
            live = marked
        else:
            in_range = [s for s in live if low <= s.value <= high]
            if len({s.value for s in in_range}) == 1 and all(
                s.value > 20 for s in live if s not in in_range
            ):
                live = in_range  # "my order 12345, a seven"
            else:
                return None
    if any(s.vague for s in live):
        return None
    choice = live[-1]
    if choice.denominator is not None and choice.denominator != high:
        return None
    value = int(choice.value)
    return value if low <= value <= high else None


def _soundalike(words: list[str], low: int, high: int) -> int | None:
    """ "won" or "ate" on its own is the recogniser mishearing a lone number."""
    content = [w for w in words if w not in (PAUSE, "um", "uh", "er", "erm", "please")]
    if len(content) == 1 and content[0] in _SOUNDALIKES:
        value = _SOUNDALIKES[content[0]]
        return value if low <= value <= high else None
    return None
