"""The demo survey every new installation starts with."""

from __future__ import annotations

from core.db import db
from core.models import CallbackRules, Question, QuestionKind, Survey, SurveyVersion

DEMO_SLUG = "post-call"

DEMO_QUESTIONS = [
    (
        "nps",
        QuestionKind.NPS,
        "On a scale from 0 to 10, how likely are you to recommend us to a friend? "
        "Key in your score and press pound, or just say it. To speak with a person, press star.",
        "zero, one, two, three, four, five, six, seven, eight, nine, ten",
        6,
    ),
    (
        "csat",
        QuestionKind.CSAT,
        "How satisfied were you with the help you got today, from 1, very unsatisfied, "
        "to 5, very satisfied?",
        "one, two, three, four, five",
        2,
    ),
    (
        "resolved",
        QuestionKind.YES_NO,
        "Was your problem solved on this call? Press 1 for yes, or 2 for no.",
        "yes, no",
        0,
    ),
]


def create_demo_survey() -> Survey:
    """Create the demo survey with its first version, unless it exists already."""
    existing = db.session.scalar(db.select(Survey).where(Survey.slug == DEMO_SLUG))
    if existing is not None:
        return existing
    survey = Survey(slug=DEMO_SLUG, name="After your support call")
    version = SurveyVersion(
        survey=survey,
        number=1,
        # Which keys reach a person or opt out is said by the survey itself (ivr.survey.
        # key_promise), from the keys that really work on each question.
        greeting="Hello! Thanks for calling us today. We have a short survey about your call.",
        disclosure="We'd love to hear your thoughts in your own words. "
        "This part of the call will be recorded so our team can listen to it. "
        "Press 1 if that's OK, or 2 to skip it.",
        comment_prompt="Please tell us about your experience after the beep, then press pound.",
        goodbye="Thank you for your feedback. Goodbye.",
        rules=CallbackRules().to_json(),
    )
    for position, (key, kind, prompt, hints, low) in enumerate(DEMO_QUESTIONS):
        version.questions.append(
            Question(
                position=position,
                key=key,
                kind=kind,
                prompt=prompt,
                speech_hints=hints,
                low_threshold=low,
            )
        )
    db.session.add_all([survey, version])
    db.session.flush()
    survey.active_version = version
    db.session.commit()
    return survey
