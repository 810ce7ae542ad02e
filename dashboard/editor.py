"""Survey editing: a form becomes a new immutable version, which becomes the active one.

Old answers keep pointing at the questions of the version they answered; the voice flow
pins each call to the version active when it started.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from core import events
from core.db import db
from core.models import CallbackRules, Question, QuestionKind, Survey, SurveyVersion, User
from core.seed import DEMO_QUESTIONS
from transcription import vocabulary

LANGUAGES = ["en-US", "en-GB", "en-AU", "en-IN", "es-US", "es-ES", "fr-CA", "fr-FR", "de-DE"]
VOICES = [
    "Polly.Joanna",
    "Polly.Matthew",
    "Polly.Salli",
    "Polly.Amy",
    "Polly.Brian",
    "Polly.Nicole",
    "Polly.Aditi",
    "Polly.Lupe",
    "Polly.Conchita",
    "Polly.Chantal",
    "Polly.Celine",
    "Polly.Vicki",
    "alice",
]
KIND_RANGES = {QuestionKind.NPS: (0, 10), QuestionKind.CSAT: (1, 5), QuestionKind.YES_NO: (0, 1)}
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
TEXT_FIELDS = ("greeting", "disclosure", "comment_prompt", "goodbye")
MAX_QUESTIONS = 10


@dataclass
class QuestionDraft:
    key: str
    kind: str
    prompt: str
    speech_hints: str = ""
    low_threshold: int | None = None


@dataclass
class VersionDraft:
    """Everything a version holds, as edited in the browser."""

    language: str = "en-US"
    voice: str = "Polly.Joanna"
    greeting: str = ""
    disclosure: str = ""
    comment_prompt: str = ""
    goodbye: str = ""
    record_comment: bool = True
    offer_texts: bool = False  # ask permission to text before the goodbye
    comment_max_seconds: int = 60
    vocabulary: str = ""  # terms for the speech recogniser; "" means the configured default
    negative_comment: bool = CallbackRules.negative_comment
    questions: list[QuestionDraft] = field(default_factory=list)

    @classmethod
    def from_version(cls, v: SurveyVersion) -> VersionDraft:
        rules = CallbackRules.from_json(v.rules)
        return cls(
            language=v.language,
            voice=v.voice,
            greeting=v.greeting,
            disclosure=v.disclosure,
            comment_prompt=v.comment_prompt,
            goodbye=v.goodbye,
            record_comment=v.record_comment,
            offer_texts=v.offer_texts,
            comment_max_seconds=v.comment_max_seconds,
            vocabulary=v.vocabulary or "",
            negative_comment=rules.negative_comment,
            questions=[
                QuestionDraft(q.key, q.kind.value, q.prompt, q.speech_hints or "", q.low_threshold)
                for q in v.questions
            ],
        )

    def rules(self) -> dict[str, Any]:
        """Callback rules; what counts as a low score is each question's low threshold."""
        return CallbackRules(negative_comment=self.negative_comment).to_json()


class Invalid(ValueError):
    """The form has errors; ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, str], draft: VersionDraft | None = None) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.draft = draft


def _int(form: Any, name: str, default: int, lo: int, hi: int, errors: dict[str, str]) -> int:
    raw = (form.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        errors[name] = "must be a whole number"
        return default
    if not lo <= value <= hi:
        errors[name] = f"must be between {lo} and {hi}"
    return value


def parse_form(form: Any) -> VersionDraft:
    """Read and validate the editor form; raises ``Invalid`` with every problem found."""
    errors: dict[str, str] = {}
    draft = VersionDraft(
        language=form.get("language", ""),
        voice=form.get("voice", ""),
        record_comment=form.get("record_comment") == "on",
        offer_texts=form.get("offer_texts") == "on",
        negative_comment=form.get("negative_comment") == "on",
    )
    if draft.language not in LANGUAGES:
        errors["language"] = "choose a language from the list"
    if draft.voice not in VOICES:
        errors["voice"] = "choose a voice from the list"
    for name in TEXT_FIELDS:
        text = " ".join((form.get(name) or "").split())
        if not text:
            errors[name] = "cannot be empty"
        elif len(text) > 1000:
            errors[name] = "at most 1000 characters"
        setattr(draft, name, text)
    draft.comment_max_seconds = _int(form, "comment_max_seconds", 60, 5, 300, errors)
    draft.vocabulary = vocabulary.normalise(form.get("vocabulary"))
    if len(draft.vocabulary) > vocabulary.MAX_CHARS:
        errors["vocabulary"] = f"at most {vocabulary.MAX_CHARS} characters"
    rows: list[tuple[int, int, QuestionDraft]] = []
    index = 0
    while f"q-{index}-prompt" in form and index < 50:
        prefix = f"q-{index}-"
        prompt = " ".join((form.get(prefix + "prompt") or "").split())
        key = (form.get(prefix + "key") or "").strip().lower()
        if form.get(prefix + "remove") == "on" or (not prompt and not key):
            index += 1
            continue
        try:
            kind = QuestionKind(form.get(prefix + "kind", ""))
        except ValueError:
            errors[prefix + "kind"] = "choose a question type"
            kind = QuestionKind.YES_NO
        if not KEY_RE.match(key):
            errors[prefix + "key"] = "lower-case letters, digits and _ (e.g. nps)"
        if not prompt:
            errors[prefix + "prompt"] = "cannot be empty"
        low_raw = (form.get(prefix + "low") or "").strip()
        low: int | None = None
        if low_raw:
            lo, hi = KIND_RANGES[kind]
            low = _int(form, prefix + "low", 0, lo, hi, errors)
        order = _int(form, prefix + "position", index + 1, 1, 99, errors)
        hints = " ".join((form.get(prefix + "hints") or "").split())
        rows.append((order, index, QuestionDraft(key, kind.value, prompt, hints, low)))
        index += 1
    draft.questions = [q for _, _, q in sorted(rows, key=lambda r: (r[0], r[1]))]
    keys = [q.key for q in draft.questions]
    if not draft.questions:
        errors["questions"] = "a survey needs at least one question"
    elif len(draft.questions) > MAX_QUESTIONS:
        errors["questions"] = f"at most {MAX_QUESTIONS} questions"
    elif len(set(keys)) != len(keys):
        errors["questions"] = "question keys must be different"
    if errors:
        raise Invalid(errors, draft)
    return draft


def _same(draft: VersionDraft, version: SurveyVersion | None) -> bool:
    return version is not None and VersionDraft.from_version(version) == draft


def save_version(survey: Survey, draft: VersionDraft, user: User) -> SurveyVersion | None:
    """Store ``draft`` as the survey's next version and make it active; None if unchanged."""
    if _same(draft, survey.active_version):
        return None
    number = (
        db.session.scalar(
            select(func.max(SurveyVersion.number)).where(SurveyVersion.survey_id == survey.id)
        )
        or 0
    ) + 1
    version = SurveyVersion(
        survey=survey,
        number=number,
        language=draft.language,
        voice=draft.voice,
        greeting=draft.greeting,
        disclosure=draft.disclosure,
        comment_prompt=draft.comment_prompt,
        goodbye=draft.goodbye,
        record_comment=draft.record_comment,
        offer_texts=draft.offer_texts,
        comment_max_seconds=draft.comment_max_seconds,
        vocabulary=draft.vocabulary or None,
        rules=draft.rules(),
        created_by_id=user.id,
    )
    for position, q in enumerate(draft.questions):
        version.questions.append(
            Question(
                position=position,
                key=q.key,
                kind=QuestionKind(q.kind),
                prompt=q.prompt,
                speech_hints=q.speech_hints or None,
                low_threshold=q.low_threshold,
            )
        )
    db.session.add(version)
    db.session.flush()
    survey.active_version = version
    events.record(
        "survey.version_saved",
        user_id=user.id,
        data={"survey_id": survey.id, "version": number},
    )
    db.session.commit()
    return version


def create_survey(name: str, slug: str, team_id: int | None, user: User) -> Survey:
    """A new survey whose first version copies the demo texts, ready to edit."""
    name = " ".join(name.split())
    slug = slug.strip().lower()
    errors: dict[str, str] = {}
    if not name or len(name) > 200:
        errors["name"] = "give the survey a name (at most 200 characters)"
    if not SLUG_RE.match(slug):
        errors["slug"] = "lower-case letters, digits and dashes, 2-64 characters"
    elif db.session.scalar(select(Survey.id).where(Survey.slug == slug)) is not None:
        errors["slug"] = "another survey already uses this slug"
    if errors:
        raise Invalid(errors)
    survey = Survey(slug=slug, name=name, team_id=team_id)
    db.session.add(survey)
    db.session.flush()
    save_version(survey, starter_draft(), user)
    return survey


def starter_draft() -> VersionDraft:
    return VersionDraft(
        # The survey says which keys work after the greeting (ivr.survey.key_promise).
        greeting="Hello! Thanks for calling us today. We have a short survey about your call.",
        disclosure="We'd love to hear your thoughts in your own words. This part of the call "
        "will be recorded so our team can listen to it. Press 1 if that's OK, or 2 to skip it.",
        comment_prompt="Please tell us about your experience after the beep, then press pound.",
        goodbye="Thank you for your feedback. Goodbye.",
        questions=[
            QuestionDraft(key, kind.value, prompt, hints, low)
            for key, kind, prompt, hints, low in DEMO_QUESTIONS
        ],
    )
