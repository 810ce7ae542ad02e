"""Yes or no in a spoken reply, with negation, idiom and mixed answers.

Words are read in three strengths. Answer words ("yes", "nope", "absolutely not", "you
bet") decide; words about the outcome ("sorted", "still broken", "it was not") decide when
there is no answer word and overrule one they contradict ("yes, but it is still broken" is
asked again); mild words ("fine", "great", "thanks") decide only alone, since they often
describe something else ("no, but the agent was great"). "Yes and no", "sort of", "not
sure" are asked again, and after a correction ("no, sorry, yes") only the last part counts.
An outcome only promised or reported ("they said it's fixed") is not the caller's answer.
"""

from __future__ import annotations

import enum
import re

from replies.numbers import NEGATORS, is_correction
from replies.words import PAUSE, wordset


class Pole(enum.Enum):
    YES = 1
    NO = 0
    MIXED = -1  # the caller has not said yes or no: ask again


ANSWER, OUTCOME, MILD = 1, 2, 3
HEARSAY = 4  # an outcome promised or reported ("they said it's fixed"): not the caller's word
_MAX_PHRASE = 7


def _entries(pole: Pole, strength: int, phrases: str) -> dict[tuple[str, ...], tuple[Pole, int]]:
    return {tuple(p.split()): (pole, strength) for p in phrases.split("|")}


# Phrases as they read after replies.words.normalise ("don't" is "do not").
LEXICON: dict[tuple[str, ...], tuple[Pole, int]] = {
    **_entries(
        Pole.YES,
        ANSWER,
        "yes|yeah|yep|yup|ya|yas|aye|affirmative|absolutely|definitely|certainly|indeed|totally"
        "|sure|surely|correct|exactly|precisely|positive|haan|han|ji|of course|for sure|you bet"
        "|you betcha|betcha|i guess so|guess so|i think so|think so|i suppose so|suppose so"
        "|i believe so|believe so|i reckon so|reckon so|i would say so|would say so"
        "|i should think so|that is right|that is correct|that is it|too right|dead right"
        "|damn right|damn straight|hell yes|hell yeah|heck yes|heck yeah|sure thing|sure did"
        "|sure was|sure is|that it was|that it did|it was indeed|very much so|yes only"
        "|ji haan|haan ji|ha ji|no doubt|no doubt about it|without a doubt|no question"
        "|no worries|no wukkas|no dramas|no problem|no problems|no problemo|not a problem"
        "|no issue|no issues|not an issue|no complaints|can not complain|no bother|no trouble"
        "|not a bother|why not|go ahead|go on|go on then|go for it|please do|yes please"
        "|i do not mind|do not mind|one hundred percent|a hundred percent|hundred percent"
        "|100 percent|all good|all sorted|all done|all fixed|never better|never been better"
        "|could not be better|she will be right|spot on|bang on|righto|right you are|affirm"
        "|okey dokey|absolutely yes|definitely yes|nothing wrong|all right then|completely"
        "|fully|entirely|as far as i know yes|pretty much|pretty much yes",
    ),
    **_entries(
        Pole.NO,
        ANSWER,
        "no|nope|nah|naw|nay|nae|nahi|nahin|negative|never|not really|not at all"
        "|absolutely not|definitely not|certainly not|of course not|surely not|not yet"
        "|not quite|not exactly|not entirely|not completely|not fully|not totally|not as such"
        "|not so much|not especially|not particularly|not much|not likely|not a chance"
        "|no chance|no way|hell no|heck no|no thanks|no thank you|no need|i do not think so"
        "|do not think so|i guess not|i think not|i suppose not|i believe not|i am afraid not"
        "|afraid not|i would say not|i would not say so|would not say so|i should think not"
        "|not in the slightest|not in the least|far from it|not even close|nowhere near"
        "|not by a long shot|not by a long way|i wish|if only|chance would be a fine thing"
        "|you must be joking|you are joking|are you joking|are you kidding|you are kidding"
        "|you have got to be kidding|as if|no joy|no luck|no dice|not one bit|not a bit"
        "|rather not|i would rather not|i would prefer not|prefer not|no ta|not today|not now"
        "|no only|not on your life|probably not|incorrect|that is wrong|nah mate|not really no"
        "|no siree|not for me|definitely no|absolutely no|not at all no|do not record"
        "|please do not|i do not want|do not want|no recording|rather you did not"
        "|do not bother|i would rather you did not|not interested|not at the moment|not right now"
        "|not currently|not as far as i know|i do not believe so|do not believe so|not a thing"
        "|not one thing",
    ),
    **_entries(
        Pole.MIXED,
        ANSWER,
        "yes and no|yes or no|sort of|kind of|partly|partially|part of it|in part|somewhat"
        "|to some extent|to an extent|half and half|more or less|so so|in a way|in some ways"
        "|not sure|unsure|i do not know|do not know|no idea|not certain|maybe|perhaps|possibly"
        "|might be|may be|could be|it depends|depends|hard to say|difficult to say|who knows"
        "|i hope so|hopefully|we will see|remains to be seen|too early to tell|too soon to tell"
        "|can not remember|do not remember|can not say|ish|halfway|half way|fifty fifty"
        "|50 50|mostly|sometimes|on and off|maybe not|maybe yes|not sure yet|i am not sure"
        "|somewhat yes|in between|neither|either|it is what it is|rather not say"
        "|not a hundred percent|not one hundred percent|not 100 percent|temporarily"
        "|it was and it was not|it is and it is not|it did and it did not|yes and not"
        "|i would rather not say|prefer not to say|i would prefer not to say",
    ),
    **_entries(
        Pole.YES,
        OUTCOME,
        "sorted|sorted out|fixed|resolved|solved|taken care of|dealt with|handled|working"
        "|works|done|cleared|cleared up|refunded|got it sorted|got it fixed|fixed it"
        "|got my refund|got a refund|got my money back|refund came through|problem is gone"
        "|issue is gone|problem has gone|issue has gone|problem went away|issue went away"
        "|it is done|sorted it|resolved it|solved it|it works|all working",
    ),
    **_entries(
        Pole.NO,
        OUTCOME,
        "broken|unresolved|unsolved|unfixed|still broken|still waiting|still not|still the same"
        "|still happening|still having|still going on|still an issue|still a problem"
        "|still ongoing|still there|nothing|nothing happened|nobody|no one|none|worse"
        "|even worse|same problem|same issue|getting nowhere|went nowhere|nowhere"
        "|waste of time|no help|no use|useless|back to square one|no change|no improvement"
        "|nothing changed|nothing has changed|nothing was done|still does not|still did not"
        "|still is not|still has not|still can not|still will not|does not work|did not work"
        "|not working|still no",
    ),
    **_entries(
        Pole.YES,
        MILD,
        "ok|okay|all right|fine|good|great|grand|lovely|brilliant|perfect|excellent|cheers"
        "|sound|thank you|thanks|happy|satisfied|right|helpful|fair enough|sounds good|please"
        "|cool|awesome|fantastic|wonderful|super|magic|champion|right oh",
    ),
    **_entries(
        Pole.NO,
        MILD,
        "terrible|awful|rubbish|bad|horrible|poor|unhappy|disappointed|disappointing|wrong"
        "|shocking|dreadful|pathetic",
    ),
}
# "kind of" is a hedge, but not in "what kind of" or "some sort of refund".
_NOT_HEDGE_BEFORE = wordset("some what that this any the a every no which")
_DENIERS = {("no", "one"), ("nobody",), ("nothing",), ("none",)}
# A mood word answers only about the call as a whole: "great", "it was fine", "all good",
# not "the agent was great".
_MILD_LEADS = wordset(
    "it that this everything is was has been all very really pretty quite so just oh um uh er "
    "erm well yeah yes totally absolutely sounds i am we are feel"
)
# Words before an outcome that make it a promise or a report, not the caller's own word.
_FUTURE = wordset(
    "would will should going supposed meant hope hoping hopefully expect soon said told claimed "
    "claim says apparently supposedly reckon"
)
_SUBJECTS = wordset("it that this they he she i we everything")
_AUX = wordset("is was did does do has have had am are were will")
_AUX_FILL = wordset("been indeed really actually certainly definitely sure all yes")
_TRAIL = wordset("yes yeah thanks thank you mate love indeed actually")


def _flip(pole: Pole) -> Pole:
    return {Pole.YES: Pole.NO, Pole.NO: Pole.YES, Pole.MIXED: Pole.MIXED}[pole]


def _aux_reading(words: list[str], i: int) -> tuple[Pole, int] | None:
    """ "it was" (said alone) is yes; "it was not", "it didn't" is no. Returns (pole, end)."""
    j = i
    if words[j] in _SUBJECTS:
        j += 1
    elif i > 0 and words[i - 1] != PAUSE:
        return None  # a bare "did not" only counts at the start of a clause
    if j >= len(words) or words[j] not in _AUX:
        return None
    j += 1
    while j < len(words) and words[j] in _AUX_FILL:
        j += 1
    if j < len(words) and words[j] in NEGATORS:
        return Pole.NO, j + 1
    if j == len(words) or words[j] == PAUSE or words[j] in _TRAIL:
        return (Pole.YES, j) if words[i] in _SUBJECTS else None
    return None


def _items(words: list[str]) -> list[tuple[Pole, int, int]]:
    """Every polar phrase as (pole, strength, position), after negation is applied."""
    items: list[tuple[Pole, int, int]] = []
    negate_until = -1
    i = 0
    while i < len(words):
        if words[i] == PAUSE:
            negate_until = -1
            i += 1
            continue
        size = next(
            (n for n in range(min(_MAX_PHRASE, len(words) - i), 0, -1)
             if tuple(words[i : i + n]) in LEXICON),
            0,
        )  # fmt: skip
        aux = _aux_reading(words, i)
        if aux is not None and aux[1] - i > size:  # "it was not", but "i do not mind"
            items.append((aux[0], OUTCOME, i))
            negate_until = aux[1] + 3 if aux[0] is Pole.NO else -1
            i = aux[1]
            continue
        if not size:
            if words[i] in NEGATORS:
                negate_until = i + 4
            i += 1
            continue
        phrase = tuple(words[i : i + size])
        pole, strength = LEXICON[phrase]
        hedge = phrase in (("kind", "of"), ("sort", "of"))
        skip = hedge and i > 0 and words[i - 1] in _NOT_HEDGE_BEFORE
        if strength == OUTCOME and pole is Pole.YES and _promised(words, i):
            strength = HEARSAY  # "it should be fixed by friday", "they said it's sorted"
        if strength == MILD and not _about_the_call(words, i):
            skip = True
        if not skip:
            if strength != ANSWER and i <= negate_until:
                pole = _flip(pole)
            items.append((pole, strength, i))
        if any(w in NEGATORS for w in phrase) or phrase in _DENIERS:
            negate_until = i + size + 3  # "still not working", "no one helped": denied
        i += size
    return items


def _promised(words: list[str], i: int) -> bool:
    """The outcome is to come or only reported: "would be fixed", "they said it's sorted"."""
    return any(w in _FUTURE for w in words[max(0, i - 4) : i])


def _about_the_call(words: list[str], i: int) -> bool:
    """Nothing but fillers and "it was" before word ``i`` in its clause."""
    j = i - 1
    while j >= 0 and words[j] != PAUSE:
        if words[j] not in _MILD_LEADS and words[j] not in NEGATORS:
            return False
        j -= 1
    return True


def _corrected(words: list[str], items: list[tuple[Pole, int, int]]) -> list[tuple[Pole, int, int]]:
    """Only what follows the last correction counts, when something polar follows it."""
    last = None
    for i in range(1, len(words)):
        if words[i] != "no" and is_correction(words, i) and any(pos > i for _, _, pos in items):
            last = i
    return items if last is None else [item for item in items if item[2] > last]


def read_polarity(text: str, *, mild: bool = True) -> Pole | None:
    """YES, NO or MIXED for a normalised reply; None when nothing in it is yes or no.

    ``mild=False`` ignores politeness ("please", "thanks") and mood words: what is left of a
    reply once a request is taken out ("no more calls, please") is not a yes.
    """
    text = _idioms(text)
    words = text.split()
    items = _corrected(words, _items(words))
    if not mild:
        items = [item for item in items if item[1] != MILD]
    heard_of = [item for item in items if item[1] == HEARSAY]
    items = [item for item in items if item[1] != HEARSAY]
    if not items:  # only a promise or a report: the caller has not said
        return Pole.MIXED if heard_of else None
    if any(pole is Pole.MIXED for pole, _, _ in items):
        return Pole.MIXED
    by_strength = {
        s: {pole for pole, strength, _ in items if strength == s} for s in (ANSWER, OUTCOME, MILD)
    }
    answer, outcome, moods = by_strength[ANSWER], by_strength[OUTCOME], by_strength[MILD]
    if answer:
        if len(answer) > 1 or (outcome and outcome != answer):
            return Pole.MIXED
        return next(iter(answer))
    for poles in (outcome, moods):
        if poles:
            return next(iter(poles)) if len(poles) == 1 else Pole.MIXED
    return None


_REASSURED = re.compile(
    r"^(?:(?:yeah|yes|no|nah|naw|nope)\s+(?:,\s+)?)*(?:no|nah|naw)\s+(?:,\s+)?"
    r"(?:(?:it|that|everything)\s+(?:is|was)\s+)?"
    r"((?:all|totally|completely)\s+(?:good|sorted|fixed|done|fine|sorted out)\b)"
)


def _idioms(text: str) -> str:
    """Australian "yeah nah" is no and "nah yeah" is yes, whatever the pause between."""
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        pair = [w for w in words[i : i + 3] if w != PAUSE][:2]
        if len(pair) == 2 and pair[0] in ("yeah", "yes") and pair[1] in ("nah", "naw"):
            out.append("nah")
            i += 3 if words[i + 1] == PAUSE else 2
            continue
        if len(pair) == 2 and pair[0] in ("nah", "naw") and pair[1] in ("yeah", "yep"):
            out.append("yeah")
            i += 3 if words[i + 1] == PAUSE else 2
            continue
        out.append(words[i])
        i += 1
    # "No, no, it's all good", "nah, all good", "yeah no, all fixed": the no is "no worries".
    text = " ".join(out)
    reassured = _REASSURED.match(text)
    if reassured:
        out = text[reassured.start(1) :].split()
    # A bare "yeah, no" at the end is the Australian no, unless a "no worries" follows.
    if len(out) >= 2 and out[-1] == "no" and [w for w in out[:-1] if w != PAUSE][-1:] == ["yeah"]:
        out = [*[w for w in out[:-1] if w != PAUSE][:-1], "no"]
    return " ".join(out)
