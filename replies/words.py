"""A spoken reply as plain words: what Twilio wrote, normalised so the readers of scores
(``replies.numbers``), yes/no (``replies.polarity``) and requests (``replies.intents``) match
one form.

The normal form is lower-case words separated by single spaces, with every pause Twilio
punctuated (comma, full stop, dash, ellipsis) written as ``,``. Contractions are expanded
("don't" -> "do not", Scots "didnae" -> "did not") so negation is always the word ``not``.
"""

from __future__ import annotations

import re

PAUSE = ","

# Whole sounds with a fixed meaning, rewritten before hyphens are split.
_SOUNDS = [
    (r"\b(?:uh-huh|uh huh|uhuh|mm-hmm|mm hmm|mmhmm|mhmm|mhm|mm-hm)\b", " yes "),
    (r"\b(?:uh-uh|nuh-uh|nuh uh|nuh-huh)\b", " no "),
]
_CONTRACTIONS = [
    (r"\bwon't\b", "will not"),
    (r"\bcan't\b", "can not"),
    (r"\bcannot\b", "can not"),
    (r"\bshan't\b", "shall not"),
    (r"\bain't\b", "is not"),
    (r"n't\b", " not"),
    # Scots: didnae, wisnae, cannae, dinnae, isnae ...
    (
        r"\b(did|is|was|wis|does|do|din|can|could|would|should|has|have|will|had|are|were)nae\b",
        r"\1 not",
    ),
    (r"\bwis\b", "was"),
    (r"\bdin not\b", "do not"),
    (r"'re\b", " are"),
    (r"'ve\b", " have"),
    (r"'ll\b", " will"),
    (r"'d\b", " would"),
    (r"'m\b", " am"),
    (r"\blet's\b", "let us"),
    (
        r"\b(it|that|there|what|he|she|who|here|where|how|everything|nothing|something|this)'s\b",
        r"\1 is",
    ),
    (r"'s\b", ""),  # a possessive: "the agent's name"
]
_SLANG = {
    "gonna": "going to",
    "wanna": "want to",
    "gotta": "got to",
    "lemme": "let me",
    "gimme": "give me",
    "kinda": "kind of",
    "sorta": "sort of",
    "outta": "out of",
    "dunno": "do not know",
    "cos": "because",
    "coz": "because",
    "cuz": "because",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
    "yeh": "yeah",
    "yah": "yeah",
    "yea": "yeah",
    "okey": "okay",
    "alright": "all right",
    "callback": "call back",
    "wont": "will not",
    "dont": "do not",
    "didnt": "did not",
    "wasnt": "was not",
    "isnt": "is not",
    "cant": "can not",
    "im": "i am",
    "id": "i would",
    "ive": "i have",
}
_PUNCTUATION = frozenset(",;:.!?")
_EXPONENT = re.compile(r"\b\d+(?:\.\d+)?e[+-]?\d+\b")
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[a-z]+|[,;:.!?]")


def wordset(text: str) -> frozenset[str]:
    """A set of words written as one string, so long lists read like prose."""
    return frozenset(text.split())


def normalise(speech: str) -> str:
    """Lower-case words and pauses: "8/10 -- um, I'd say" -> "8 out of 10 , um , i would say"."""
    text = speech.lower().replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    for pattern, repl in _SOUNDS:
        text = re.sub(pattern, repl, text)
    for pattern, repl in _CONTRACTIONS:
        text = re.sub(pattern, repl, text)
    text = re.sub(r"\b24\s*/\s*7\b", " round the clock ", text)
    # (?<!\d): a match starts where a number does; trying at every digit of a long run of
    # digits was quadratic.
    text = re.sub(r"(?<!\d)(\d+)\s*/\s*(\d+)", r"\1 out of \2", text)  # "8/10"
    text = re.sub(r"(?<!\d)(\d+)\s*-\s*(\d+)", r"\1 to \2", text)  # "7-8" is a range
    text = re.sub(r"(?<!\d)(\d+)\s*%", r"\1 percent", text)
    text = re.sub(r"\bper cent\b", "percent", text)
    text = re.sub(r"(?<!\d)\d+:\d+", " oclock ", text)  # a time of day is never a score
    text = _EXPONENT.sub(" ", text)  # "1e400" is no plain score, not 1 and 400
    text = re.sub(r"\bo'clock\b", " oclock ", text)
    text = re.sub(r"(\d)(am|pm|st|nd|rd|th|s|k|ish)\b", r"\1 \2", text)
    text = re.sub(r"\b(one|two|three|four|five|six|seven|eight|nine|ten)-?ish\b", r"\1 ish", text)
    text = re.sub(r"[\u2014\u2013]|\s-\s|--+|\.\.+|\u2026", " , ", text)
    text = text.replace("-", " ").replace("'", " ")
    words: list[str] = []
    for token in _TOKEN.findall(text):
        if token in _PUNCTUATION:
            if words and words[-1] != PAUSE:
                words.append(PAUSE)
            continue
        words.extend(_SLANG.get(token, token).split())
    while words and words[-1] == PAUSE:
        words.pop()
    return " ".join(words)


def clauses(text: str) -> list[str]:
    """Pieces of a normalised reply between pauses and "but"-like joins, for requests.

    "eight but can i talk to someone" -> ["eight", "can i talk to someone"]: a request is
    read within its own clause, so the score before it cannot hide it.
    """
    pieces = re.split(r"\s*,\s*|\b(?:but|though|although|however|also|plus|because)\b", text)
    return [piece.strip() for piece in pieces if piece and piece.strip()]
