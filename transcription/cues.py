"""The word-list cues: phrase patterns that are evidence for each label.

The transcript comes from Whisper tiny.en, so casing is random, punctuation may be
missing and numbers are digits. Each label is a set of phrase cues (regexes, grouped
below with the reason each group exists). On their own, combined by a noisy-OR
(``transcription.rules``), they were the whole reader up to version 1.2, and stay as
they were so that reader can still be measured; ``transcription.cues_2`` adds the phrasing
they missed. Both are features of the learned model and the first source of the phrases
that explain a label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Cue:
    """One phrase pattern that is evidence for a label."""

    label: str
    pattern: re.Pattern[str]
    weight: float
    negatable: bool


# Whisper and some keyboards write a right single quotation mark for the apostrophe.
CURLY = "\u2019"


def compile_phrase(phrase: str) -> re.Pattern[str]:
    """Compile a readable phrase: spaces match any whitespace, ' is an optional apostrophe.

    Whisper writes "dont" as often as "don't", and curly quotes appear too.
    """
    body = phrase.replace("'", f"['{CURLY}]?").replace(" ", r"\s+")
    return re.compile(rf"\b(?:{body})\b", re.IGNORECASE)


def group(label: str, weight: float, phrases: list[str], *, negatable: bool = True) -> list[Cue]:
    return [Cue(label, compile_phrase(p), weight, negatable) for p in phrases]


NUM = r"(?:\d+|an?|one|two|three|four|five|ten|twenty|thirty|forty|fifty|sixty|ninety)"
_DAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|tonight)"
_DATE = rf"(?:{_DAY}|the \d+(?:st|nd|rd|th)?)"
ME = r"(?:me|us)"

CUES_1_2: list[Cue] = [
    # --- distress
    # Feelings of worry or fear said outright: the strongest single signal.
    *group(
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
    *group("distress", 0.7, [r"concerned", r"upset and worried"]),
    # Callers state urgency directly.
    *group("distress", 0.8, [r"urgent(?:ly)?", r"emergency", r"please help|help me please"]),
    # Home, job or account at stake: facts, so negation words nearby don't cancel them.
    *group(
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
    *group(
        "distress",
        0.55,
        [r"can't afford|cannot afford|no money", r"overdrawn|overdraft|debt"],
        negatable=False,
    ),
    # Health at stake: someone's care depends on this being fixed.
    *group(
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
    *group(
        "distress",
        0.4,
        [
            r"on benefits|my pension|my wages|rent|mortgage",
            r"medication|medicine|prescription|carers?|disabled|heating|freezing",
        ],
        negatable=False,
    ),
    # Deadlines: weak alone ("call me tomorrow"), decisive next to money or health.
    *group(
        "distress",
        0.35,
        [rf"due (?:on )?{_DATE}", rf"by {_DATE}", r"deadline", rf"on {_DATE}"],
        negatable=False,
    ),
    # --- negative
    # Complaints about the agent's manner.
    *group(
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
    *group(
        "negative",
        0.8,
        [
            rf"(?:{NUM}|another) (?:minutes?|mins?|hours?) on hold",
            rf"on hold for (?:over |nearly |almost )?{NUM}(?: (?:minutes?|mins?|hours?))?",
            rf"waited (?:for )?(?:over |nearly |almost )?{NUM}(?: (?:minutes?|mins?|hours?))?",
            r"took (?:ages|forever|so long|too long|over an hour|an hour)|how long it took",
            r"long wait|put (?:me )?on hold",
            r"(?:couldn't|can't|cannot|never) get through"
            r"|to get through to (?:anyone|anybody|someone|a person|a human)",
            rf"on the phone for (?:over |nearly |almost )?{NUM}(?: (?:minutes?|mins?|hours?))?",
            r"transferred \w+ times|passed around|explain everything again",
            r"got cut off|cut me off|kept (?:crashing|dropping|cutting out|skipping)",
            r"(?:call|line) (?:dropped|cut out)",
            r"wouldn't stop skipping|wouldn't stop",
        ],
    ),
    # Problem not solved or promise broken.
    *group(
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
    *group(
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
    *group(
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
    *group(
        "contact_request",
        0.9,
        [
            rf"(?:call|ring|phone|contact|reach|bell) {ME}(?: back)?",
            rf"give {ME} a (?:call|ring|bell)",
            rf"get (?:back )?in touch with {ME}|get back to {ME}",
            r"(?:a|want a|like a|need a) call ?back|callback",
            r"speak to (?:a |the |your )?(?:manager|supervisor|team leader)",
        ],
    ),
    # Giving a number only makes sense if they want a call.
    *group("contact_request", 0.5, [r"my number is"]),
    # --- opt_out
    # Stop the calls or surveys.
    *group(
        "opt_out",
        0.9,
        [
            r"(?:stop|quit) (?:calling|ringing|phoning|contacting|bothering|texting) (?:me|us)",
            r"stop (?:sending|these|the|your|all)(?: \w+)? (?:surveys?|calls|texts)",
            r"(?:not|stop) keep (?:calling|ringing|phoning) me",
        ],
    ),
    # Lists and subscriptions.
    *group(
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
    *group(
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
