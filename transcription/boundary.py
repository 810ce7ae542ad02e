"""Cues for the edges of a label (reader 2.3): wording that makes a distress cue
mean less than it seems, written from data/LABELS.md's "No" cases, not from sentences.

They are features of the learned model only (a flag each, ``boundary_features``): none of
them vetoes a label, so a caller who is still frightened after saying "it's sorted" is
weighed, not dropped. What each flag is for:

* a worry told in the past tense, or followed by words saying it is over: worry settled
  during the call is not distress; "still" and "what if" keep it open;
* a worry that is only hypothetical ("if it ever went off i'd be worried");
* a practical ask (change, check, set up) from a caller whose health or money is mentioned
  with no fear: the circumstance is not the worry;
* anger or annoyance with no fear word: negative, not distress;
* a distress word in an idiom ("dying to", "killing me", "for crying out loud").

Flags for opt-out's near misses (how often we call; unsubscribing from a product) lost on
leave-one-author-out (opt_out F1 0.895 -> 0.891) and were left out.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from transcription.cues import compile_phrase
from transcription.cues_2 import RESOLVED_2
from transcription.rules import RuleReading

Vector = npt.NDArray[np.float32]

# Words of fear or worry themselves (not circumstances such as rent or medication).
_FEAR = (
    r"(?:worr(?:y|ied|ying)|anxious|anxiety|scared|afraid|frightened|terrified|petrified"
    r"|panick?(?:ing|ed|y)?|stressed|stressing|nervous|desperate|dread(?:ing|ed)?"
    r"|beside myself|in a (?:state|panic|mess)|on edge|overwhelmed|shaking|in tears|crying"
    r"|freaking out|freaked out|losing sleep|sick with worry|worried sick)"
)
# The cue weight from which a kept distress cue is a feeling rather than a circumstance
# (``transcription.cues`` gives feelings 0.7-0.95, circumstances 0.35-0.6).
FEELING_WEIGHT = 0.7

# The worry is told as over: past tense, or "at first", "for a minute".
PAST_WORRY = compile_phrase(
    rf"(?:was|were|had been|i'd been|got|felt|had) (?:\w+ ){{0,2}}?{_FEAR}"
    rf"|{_FEAR} (?:at first|for a (?:bit|minute|moment|second|while|few days)|earlier"
    r"|this morning|yesterday|last (?:night|week|month)|before (?:i|the) call)"
    r"|(?:worried|scared|frightened|panicked|terrified) me"
)
# The worry is still open: "still", "what if", "until", "every night".
STILL_OPEN = compile_phrase(
    r"still (?:\w+ ){0,2}?(?:worr\w*|scared|afraid|anxious|frightened|panick\w*|stressed"
    r"|can't|cannot|don't know|not sleeping|awake|waiting|no|nothing|without|have no|got no)"
    r"|what if|until (?:it|they|the|i|we)|every (?:night|day)|keeps? me (?:up|awake)"
    r"|even (?:though|if|so)|but (?:i'?m|i am) still|not (?:over|sorted|fixed|resolved) yet"
)
# A conditional in front of the worry: "if it happened again i'd panic", "just in case".
HYPOTHETICAL = compile_phrase(
    rf"(?:if|in case|should|supposing|suppose|hypothetically|what happens if)"
    rf" (?:\w+ ){{0,8}}?(?:i'd|i would|we'd|we would|would|might|could)? ?(?:be |get |feel )?"
    rf"{_FEAR}"
    rf"|(?:i'd|i would|we'd|we would|you'd|anyone would) (?:be |get |feel )?(?:\w+ )?{_FEAR}"
    r"|just in case|for future reference|out of interest|hypothetically"
)
# A calm, practical ask: change, check, book, set up, how do i.
PRACTICAL_ASK = compile_phrase(
    r"(?:can|could|would) (?:you|i|someone|somebody|we) (?:please |just )?(?:\w+ )?"
    r"(?:change|update|check|add|set up|arrange|book|move|send|confirm|switch|put|register"
    r"|note|record|explain|tell)"
    r"|i (?:just )?(?:need|needed|want|wanted|would like|'d like) to (?:\w+ )?(?:change|update"
    r"|check|add|set up|arrange|book|move|know|confirm|switch|register|ask|query|find out)"
    r"|how (?:do|can|would|should) (?:i|we)|is it possible|wondering (?:if|whether)"
    r"|just (?:checking|wanted|ringing|calling|phoning) (?:to|about)|(?:rang|called|phoned)"
    r" (?:up )?(?:to|about) (?:\w+ ){0,3}?(?:change|update|check|ask|add|arrange|book)"
)
# Anger or annoyance words (data/LABELS.md: anger without fear is negative only).
ANGER = compile_phrase(
    r"frustrat\w*|annoy\w*|irritat\w*|furious|fuming|livid|angry|raging|fed up"
    r"|sick (?:and tired )?of|cheesed off|hacked off|pissed off|ticked off|ridiculous"
    r"|outrageous|absurd|unacceptable|a joke|disgrace\w*|shocking|appalling|beyond a joke"
)
# Distress words in a figure of speech.
IDIOM = compile_phrase(
    r"dying (?:to|for)|to die for|killing (?:me|us|it)|kills me|killed it"
    r"|for crying out loud|crying shame|(?:happy|tears of) (?:tears|joy)|cried (?:with|laughing)"
    r"|no (?:worries|stress|dramas?|panic)|not to worry|(?:don't|dont) (?:you )?worry"
    r"|nothing to (?:worry|panic|stress) about|worry[- ]free|stress[- ]free|hassle[- ]free"
    r"|scared (?:stiff )?of (?:spiders|heights|the dentist)|panic buy\w*"
    r"|(?:died|dying|dead) (?:laughing|of (?:embarrassment|boredom|shame))|bored to death"
    r"|scare(?:d)? the (?:life|hell|living daylights) out"
)
BOUNDARY_NAMES = (
    "distress.past",
    "distress.still_open",
    "distress.resolved_after",
    "distress.hypothetical",
    "distress.practical_ask",
    "distress.calm_practical",
    "distress.anger",
    "distress.anger_without_fear",
    "distress.idiom",
)


def _fear_kept(reading: RuleReading) -> bool:
    return any(w >= FEELING_WEIGHT for w in reading.weights["distress"])


def _resolved_after(text: str, reading: RuleReading) -> bool:
    """A word of relief comes after the last distress cue the cues kept (or any at all)."""
    last = max((e for _, e in reading.spans["distress"]), default=0)
    return RESOLVED_2.search(text, last) is not None


def boundary_features(text: str, reading: RuleReading) -> Vector:
    """One flag per name in ``BOUNDARY_NAMES``."""
    fear = _fear_kept(reading)
    circumstance = bool(reading.spans["distress"]) and not fear
    practical = PRACTICAL_ASK.search(text) is not None
    anger = ANGER.search(text) is not None
    flags = [
        PAST_WORRY.search(text) is not None,
        STILL_OPEN.search(text) is not None,
        _resolved_after(text, reading),
        HYPOTHETICAL.search(text) is not None,
        practical,
        circumstance and practical,
        anger,
        anger and not fear,
        IDIOM.search(text) is not None,
    ]
    return np.asarray(flags, dtype=np.float32)
