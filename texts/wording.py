"""What the text survey says: the survey version's own words, made fit for a phone screen.

Voice prompts tell callers which keys to press ("Press 1 for yes, or 2 for no", "Key in
your score and press pound"); a text says how to reply instead, from the question's kind.
"""

from __future__ import annotations

import re

from core.models import Question, QuestionKind, SurveyVersion

REPLY_HOW = {
    QuestionKind.NPS: "Reply with a number from 0 to 10.",
    QuestionKind.CSAT: "Reply with a number from 1 to 5.",
    QuestionKind.YES_NO: "Reply YES or NO.",
}
# A sentence about the keypad or speaking: not for a text.
VOICE_ONLY = re.compile(
    r"\b(?:press(?:ed)?|key in|keypad|pound|star key|after the beep|say it|speak|"
    r"recorded|this part of the call)\b",
    re.I,
)
SENTENCE = re.compile(r"(?<=[.!?])\s+")
REPROMPT = "Sorry, I didn't get that."
# A reply we failed to take (our fault): the question follows, or this when there is none.
SORRY = "Sorry, something went wrong on our side."
SORRY_LATER = f"{SORRY} Please try again later."
COMMENT = (
    "Is there anything you'd like to tell us about your experience? Reply in your own words, "
    "or reply SKIP."
)
OFFER = "Would you like someone from our team to call you back about it? Reply YES or NO."
CALLING_YOU = "Someone from our team will call you back soon."
OPTED_OUT = (
    "You won't get any more surveys from us, by text or by phone. Reply START for texts again."
)


def without_voice(text: str) -> str:
    """The text with every sentence about keys, beeps or speaking taken out."""
    kept = [s for s in SENTENCE.split(text.strip()) if s and not VOICE_ONLY.search(s)]
    return " ".join(kept)


def question(q: Question) -> str:
    return f"{without_voice(q.prompt)} {REPLY_HOW[q.kind]}".strip()


def opening(version: SurveyVersion) -> str:
    """The first text: the greeting (said as a text), then the first question."""
    greeting = without_voice(version.greeting).replace(
        "Thanks for calling", "Thanks for contacting"
    )
    first = question(version.questions[0]) if version.questions else ""
    # The first text of an exchange says how to stop, as carriers expect.
    return f"{greeting} {first} (Reply STOP to opt out.)".strip()


def goodbye(version: SurveyVersion) -> str:
    return without_voice(version.goodbye) or "Thank you for your feedback."
