"""Read a survey comment transcript for the labels that decide whether someone calls back.

The transcript comes from Whisper tiny.en, so casing is random, punctuation may be
missing and numbers are digits. Each label is a set of phrase cues (regexes, grouped
below with the reason each group exists); a cue is dropped when a negation or a
reported-speech word sits just before it in the same clause, or, for distress, when it
was past tense and the caller says it got resolved. Kept cues are combined by a
noisy-OR into a 0..1 score, and VADER's compound score adds weight to ``negative`` (and
a little to ``distress``). A label is flagged at score >= ``FLAG_THRESHOLD``.

Decisions worth knowing:
    * "I was worried at first but you fixed it": past-tense worry followed by a
      resolution is not distress (no urgent callback). Present worry always counts,
      even if the caller also says something was fixed.
    * "don't stop calling me": the opt-out cue is negated, so nothing is flagged.
    * "please don't call me back" / "no need to call": neither a contact request nor an
      opt-out; only "don't call me *again*", "stop calling", "take me off" etc. opt out.
    * ``negative`` covers any complaint about the experience, even when it ended well
      ("took ages, agent was nice though").
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

LABELS: tuple[str, ...] = ("distress", "negative", "contact_request", "opt_out")

# Bump whenever a cue, weight or threshold changes: stored results name the rules used.
ANALYSER_VERSION = "1.2.0"

FLAG_THRESHOLD = 0.5


# --------------------------------------------------------------------------- cues


@dataclass(frozen=True)
class _Cue:
    """One phrase pattern that is evidence for a label."""

    label: str
    pattern: re.Pattern[str]
    weight: float
    negatable: bool


# Whisper and some keyboards write a right single quotation mark for the apostrophe.
_CURLY = "\u2019"


def _compile(phrase: str) -> re.Pattern[str]:
    """Compile a readable phrase: spaces match any whitespace, ' is an optional apostrophe.

    Whisper writes "dont" as often as "don't", and curly quotes appear too.
    """
    body = phrase.replace("'", f"['{_CURLY}]?").replace(" ", r"\s+")
    return re.compile(rf"\b(?:{body})\b", re.IGNORECASE)


def _group(label: str, weight: float, phrases: list[str], *, negatable: bool = True) -> list[_Cue]:
    return [_Cue(label, _compile(p), weight, negatable) for p in phrases]


_NUM = r"(?:\d+|an?|one|two|three|four|five|ten|twenty|thirty|forty|fifty|sixty|ninety)"
_DAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|tonight)"
_DATE = rf"(?:{_DAY}|the \d+(?:st|nd|rd|th)?)"
_ME = r"(?:me|us)"

_CUES: list[_Cue] = [
    # --- distress
    # Feelings of worry or fear said outright: the strongest single signal.
    *_group(
        "distress",
        0.9,
        [
            r"worr(?:y|ied|ying|ies)",
            r"anxious|anxiety",
            r"scared|afraid|frightened|terrified",
            r"panic(?:king|ked)?|in a panic",
            r"stressed|stressing|stress",
            r"desperate|beside myself|at my wits end|freaking out",
            r"losing my mind|out of my mind|don't know what to do",
            r"can't sleep|cannot sleep|not sleeping",
            r"crying|in tears",
            r"nervous",
        ],
    ),
    # Milder wording of worry; on its own still worth a quick call.
    *_group("distress", 0.7, [r"concerned", r"upset and worried"]),
    # Callers state urgency directly.
    *_group("distress", 0.8, [r"urgent(?:ly)?", r"emergency", r"please help|help me please"]),
    # Home, job or account at stake: facts, so negation words nearby don't cancel them.
    *_group(
        "distress",
        0.6,
        [
            r"lose (?:my|the|our) (?:account|flat|house|home|job|car)",
            r"evict(?:ed|ion)?|bailiffs|repossess(?:ed|ion)?",
            r"(?:going to|gonna|will|'ll) (?:be )?cut (?:off|me off)",
            r"credit (?:file|score|rating)",
            r"hacked|money is missing|what else they've taken",
        ],
        negatable=False,
    ),
    # Money hardship: the caller can't absorb a billing mistake.
    *_group(
        "distress",
        0.55,
        [r"can't afford|cannot afford|no money", r"overdrawn|overdraft|debt"],
        negatable=False,
    ),
    # Health at stake: someone's care depends on this being fixed.
    *_group(
        "distress",
        0.6,
        [
            r"needs? (?:her|his|my|their|our) (?:medication|medicine|insulin|prescription)",
            r"insulin|in hospital|asthma|newborn|chemo",
        ],
        negatable=False,
    ),
    # Money or care context: routine on its own ("pay my rent through the app"),
    # distress next to a deadline, a fear or a hardship.
    *_group(
        "distress",
        0.4,
        [
            r"on benefits|my pension|my wages|rent|mortgage",
            r"medication|medicine|prescription|carers?|disabled|heating|freezing",
        ],
        negatable=False,
    ),
    # Deadlines: weak alone ("call me tomorrow"), decisive next to money or health.
    *_group(
        "distress",
        0.35,
        [rf"due (?:on )?{_DATE}", rf"by {_DATE}", r"deadline", rf"on {_DATE}"],
        negatable=False,
    ),
    # --- negative
    # Complaints about the agent's manner.
    *_group(
        "negative",
        0.85,
        [
            r"rude|dismissive|condescending|patronising|patronizing|unprofessional|arrogant",
            r"hung up on me|laughed at me|talking over me|didn't listen|wasn't listening",
            r"short with me|didn't know anything|had no idea",
            r"unhelpful|useless",
        ],
    ),
    # Waiting and being passed around.
    *_group(
        "negative",
        0.8,
        [
            rf"(?:{_NUM}|another) (?:minutes?|mins?|hours?) on hold",
            rf"on hold for (?:over |nearly |almost )?{_NUM}(?: (?:minutes?|mins?|hours?))?",
            rf"waited (?:for )?(?:over |nearly |almost )?{_NUM}(?: (?:minutes?|mins?|hours?))?",
            r"took (?:ages|forever|so long|too long|over an hour|an hour)|how long it took",
            r"long wait|put (?:me )?on hold",
            r"(?:couldn't|can't|cannot|never) get through"
            r"|to get through to (?:anyone|anybody|someone|a person|a human)",
            rf"on the phone for (?:over |nearly |almost )?{_NUM}(?: (?:minutes?|mins?|hours?))?",
            r"transferred \w+ times|passed around|explain everything again",
            r"got cut off|cut me off|kept (?:crashing|dropping|cutting out|skipping)",
            r"(?:call|line) (?:dropped|cut out)",
            r"wouldn't stop skipping|wouldn't stop",
        ],
    ),
    # Problem not solved or promise broken.
    *_group(
        "negative",
        0.8,
        [
            r"(?:not|never|hasn't been|haven't been|wasn't|isn't) (?:been )?"
            r"(?:fixed|sorted|resolved|solved)",
            r"didn't (?:resolve|fix|solve|sort|help)|couldn't help|nothing he could do"
            r"|nothing she could do|nothing they could do",
            r"still (?:hasn't|haven't|has not|isn't|not|no|without|locked|broken|waiting)",
            r"still being charged",
            r"nothing (?:was|has been|got) (?:resolved|fixed|sorted|done)",
            r"never (?:came|arrived|turned up|happened|got back|did)",
            r"(?:nobody|no one) (?:has |have |ever )?(?:called|rang|rung|phoned|got back|did)",
            r"nothing (?:ever )?gets? (?:fixed|done|sorted)",
            r"(?:nobody|no one) (?:can|could|would) (?:tell|explain)",
            r"took (?:£|\$)?\d+ (?:pounds |quid |dollars )?out of my account",
        ],
    ),
    # Billing errors.
    *_group(
        "negative",
        0.8,
        [
            r"charged (?:me )?twice|double charged|overcharged|wrongly charged",
            r"(?:took|taken) (?:\w+ ){0,2}twice",
            r"charged (?:me )?(?:a |an )?(?:\w+ )?fees?",
            r"want my money back",
        ],
    ),
    # General dissatisfaction words; negation ("no complaints") cancels them.
    *_group(
        "negative",
        0.75,
        [
            r"complain(?:t|ts|ing)?",
            r"terrible|awful|rubbish|worst|appalling|disgusting|shocking|ridiculous",
            r"fed up|fuming|furious|angry|disappointed|upset",
            r"waste of (?:my )?time|a joke",
            r"(?:not|wasn't|isn't|weren't|'m not|am not) (?:very |really |too |at all )?"
            r"(?:happy|pleased|satisfied|impressed|helpful)",
        ],
    ),
    # --- contact_request
    # Direct asks to be called or contacted.
    *_group(
        "contact_request",
        0.9,
        [
            rf"(?:call|ring|phone|contact|reach|bell) {_ME}(?: back)?",
            rf"give {_ME} a (?:call|ring|bell)",
            rf"get (?:back )?in touch with {_ME}|get back to {_ME}",
            r"(?:a|want a|like a|need a) call ?back|callback",
            r"speak to (?:a |the |your )?(?:manager|supervisor|team leader)",
        ],
    ),
    # Giving a number only makes sense if they want a call.
    *_group("contact_request", 0.5, [r"my number is"]),
    # --- opt_out
    # Stop the calls or surveys.
    *_group(
        "opt_out",
        0.9,
        [
            r"(?:stop|quit) (?:calling|ringing|phoning|contacting|bothering|texting) (?:me|us)",
            r"stop (?:sending|these|the|your|all)(?: \w+)? (?:surveys?|calls|texts)",
            r"(?:not|stop) keep (?:calling|ringing|phoning) me",
        ],
    ),
    # Lists and subscriptions.
    *_group(
        "opt_out",
        0.9,
        [
            r"(?:take|remove) (?:me|my number|my details)"
            r" (?:off|from) (?:your |the |this )?(?:\w+ )?(?:list|database|system)",
            # Bare "take me off" only at the end of a clause: not "take me off hold".
            r"take me off(?=\s*(?:[.!?,]|please\b|$))",
            r"remove my (?:number|details)",
            r"unsubscribe",
            r"opt (?:me )?out(?= of (?:these |the |your |all |this )?(?:surveys?|calls)"
            r"|\s*(?:[.!?,]|please\b|$))",
        ],
    ),
    # Never contact me again / no more surveys.
    *_group(
        "opt_out",
        0.9,
        [
            r"(?:don't|do not|didn't|never) (?:ever )?(?:call|ring|phone|contact)"
            r" (?:me|this number) again",
            r"(?:don't|do not|never) (?:want|wish) to be (?:called|contacted|rung|phoned)",
            r"(?:don't|do not) wish to (?:receive|get|have|do) any (?:more )?(?:calls|surveys)",
            r"no more (?:phone )?(?:calls|surveys)",
            r"(?:don't|do not) want (?:any )?(?:more )?(?:of )?(?:these |your )?"
            r"(?:calls|surveys)",
            r"(?:don't|do not) want to do (?:any more |these )?surveys",
            r"won't be (?:taking|doing) any more (?:of (?:these|your) )?surveys",
            r"leave me alone",
        ],
    ),
]

# --------------------------------------------------------------------------- context

# Where a negation stops reaching: sentence punctuation or a contrast word
# ("not angry, just disappointed").
_CLAUSE_BREAK = re.compile(
    r"[.!?;,]|\b(?:but|though|although|however|except|just)\b", re.IGNORECASE
)
_WORD = re.compile(rf"[\w'{_CURLY}]+")
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
# Words telling us an earlier worry is over.
_RESOLVED = re.compile(
    r"\b(?:fixed|sorted|resolved|calmed me down|put my mind at ease|reassured"
    r"|all good now|came through|(?:fine|ok|okay|good|sorted) now"
    r"|now (?:i'?m|i am|it'?s|it is|all) (?:fine|ok|okay|good|sorted))\b",
    re.IGNORECASE,
)
# An offer or a refusal in the same sentence cancels a contact request.
_CONTACT_DECLINED = re.compile(r"\b(?:not necessary|if you need|if needed)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?]")

_WINDOW = {"distress": 4, "negative": 3, "contact_request": 4, "opt_out": 2}


def _preceding_words(text: str, start: int, count: int) -> list[str]:
    """The last ``count`` words of the clause that ends at ``start``, lowercased."""
    clause_start = 0
    for match in _CLAUSE_BREAK.finditer(text, 0, start):
        clause_start = match.end()
    clause = _NOT_NEGATION.sub(" ", text[clause_start:start])
    return [w.lower().replace(_CURLY, "'") for w in _WORD.findall(clause)][-count:]


def _is_negator(word: str) -> bool:
    return word in _NEGATORS or word.endswith("n't") or word in _BARE_NEGATIONS


def _sentence(text: str, start: int, end: int) -> str:
    lo = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    after = _SENTENCE_END.search(text, end)
    return text[lo : after.start() if after else len(text)]


def _cancelled(cue: _Cue, text: str, start: int, end: int) -> bool:
    """True when the context says this cue doesn't mean what it seems to."""
    words = _preceding_words(text, start, _WINDOW[cue.label])
    if cue.negatable and any(_is_negator(w) for w in words):
        return True
    if cue.label == "contact_request":
        if any(w in _REPORTED for w in words):
            return True
        if _CONTACT_DECLINED.search(_sentence(text, start, end)):
            return True
    if cue.label == "distress" and cue.negatable and any(w in _PAST for w in words):
        # Past worry followed by a resolution: the caller is fine now.
        return _RESOLVED.search(text, end) is not None
    return False


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class LabelResult:
    """One label's verdict; ``phrases``/``spans`` are the cues that counted, verbatim."""

    label: str
    flagged: bool
    score: float
    phrases: tuple[str, ...] = ()
    spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class CommentAnalysis:
    """Everything read from one transcript, in a form that round-trips through JSON."""

    text: str
    labels: dict[str, LabelResult]
    sentiment: float
    analyser_version: str = field(default=ANALYSER_VERSION)

    def flagged(self) -> list[str]:
        """Flagged label names, in ``LABELS`` order."""
        return [name for name in LABELS if name in self.labels and self.labels[name].flagged]

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "sentiment": self.sentiment,
            "analyser_version": self.analyser_version,
            "labels": {
                name: {
                    "flagged": r.flagged,
                    "score": r.score,
                    "phrases": list(r.phrases),
                    "spans": [list(s) for s in r.spans],
                }
                for name, r in self.labels.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CommentAnalysis:
        labels = {
            name: LabelResult(
                label=name,
                flagged=bool(raw["flagged"]),
                score=float(raw["score"]),
                phrases=tuple(raw.get("phrases", ())),
                spans=tuple((int(s), int(e)) for s, e in raw.get("spans", ())),
            )
            for name, raw in data["labels"].items()
        }
        return cls(
            text=data["text"],
            labels=labels,
            sentiment=float(data["sentiment"]),
            analyser_version=data.get("analyser_version", "unknown"),
        )


# --------------------------------------------------------------------------- scoring

_vader: SentimentIntensityAnalyzer | None = None
_vader_lock = threading.Lock()


def _get_vader() -> SentimentIntensityAnalyzer:
    """Build VADER once per process (loading its lexicon takes ~15 ms)."""
    global _vader
    if _vader is None:
        with _vader_lock:
            if _vader is None:
                _vader = SentimentIntensityAnalyzer()
    return _vader


def _noisy_or(weights: list[float]) -> float:
    """Independent pieces of evidence: each closes part of the remaining gap to 1."""
    remaining = 1.0
    for w in weights:
        remaining *= 1.0 - w
    return 1.0 - remaining


def _sentiment_weight(label: str, compound: float) -> float:
    """Extra evidence from VADER: a clearly negative comment is a complaint on its own."""
    if label == "negative":
        # -0.3 and below starts counting; -0.8 alone is enough to flag.
        return min(max((-compound - 0.3) / 0.5, 0.0), 1.0) * 0.6
    if label == "distress":
        # Only ever a nudge: sad is not the same as anxious.
        return 0.15 if compound <= -0.5 else 0.0
    return 0.0


def _vader_phrases(text: str, analyser: SentimentIntensityAnalyzer) -> list[tuple[int, int]]:
    """Spans of VADER's negative lexicon words, to highlight a sentiment-only flag."""
    spans = []
    for m in _WORD.finditer(text):
        strongly_negative = analyser.lexicon.get(m.group().lower(), 0.0) <= -1.5
        if strongly_negative and not any(
            _is_negator(w) for w in _preceding_words(text, m.start(), 3)
        ):
            spans.append((m.start(), m.end()))
    return spans


def analyse_comment(text: str) -> CommentAnalysis:
    """Score ``text`` for every label in ``LABELS``; pure and safe to call from threads."""
    if not text.strip():
        empty = {name: LabelResult(name, False, 0.0) for name in LABELS}
        return CommentAnalysis(text=text, labels=empty, sentiment=0.0)

    analyser = _get_vader()
    compound = float(analyser.polarity_scores(text)["compound"])

    hits: dict[str, list[tuple[int, int, float]]] = {name: [] for name in LABELS}
    for cue in _CUES:
        for m in cue.pattern.finditer(text):
            if not _cancelled(cue, text, m.start(), m.end()):
                hits[cue.label].append((m.start(), m.end(), cue.weight))

    labels: dict[str, LabelResult] = {}
    for name in LABELS:
        # Overlapping cues ("waited 45 minutes" + "45 minutes on hold") are one piece of
        # evidence, highlighted as one span.
        chosen: list[tuple[int, int, float]] = []
        for start, end, weight in sorted(hits[name]):
            if chosen and start < chosen[-1][1]:
                prev_start, prev_end, prev_weight = chosen[-1]
                chosen[-1] = (prev_start, max(end, prev_end), max(weight, prev_weight))
            else:
                chosen.append((start, end, weight))
        weights = [w for _, _, w in chosen]
        sentiment_w = _sentiment_weight(name, compound)
        score = _noisy_or([*weights, sentiment_w])
        spans = [(s, e) for s, e, _ in chosen]
        if name == "negative" and sentiment_w > 0 and not spans:
            spans = _vader_phrases(text, analyser)
        flagged = score >= FLAG_THRESHOLD
        labels[name] = LabelResult(
            label=name,
            flagged=flagged,
            score=round(score, 4),
            phrases=tuple(text[s:e] for s, e in spans),
            spans=tuple(spans),
        )
    return CommentAnalysis(text=text, labels=labels, sentiment=compound)
