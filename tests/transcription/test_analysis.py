"""Behaviour of the transcript reader that decides who gets a callback.

These are product decisions, not accuracy figures: how well the reader does on comments
nobody tuned for is measured on the held-out set by ``bench/analysis_bench.py``.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from transcription.analysis import (
    ANALYSER_VERSION,
    LABELS,
    RULES_VERSION,
    CommentAnalysis,
    analyse_comment,
)
from transcription.comment_model import MODEL_PATH, get_model
from transcription.rules import read_rules

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "comments.jsonl"


def _load_rows() -> list[dict]:
    return [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("text", "label", "phrase"),
    [
        ("My rent is due Friday and the refund still isn't there", "distress", "rent"),
        ("i'm scared i'll lose my account", "distress", "lose my account"),
        ("I can't sleep over this", "distress", "can't sleep"),
        ("The agent was rude and hung up on me", "negative", "hung up on me"),
        ("I waited 45 minutes on hold", "negative", "waited 45 minutes on hold"),
        ("please call me back", "contact_request", "call me back"),
        ("I'd like a manager to phone me", "contact_request", "phone me"),
        ("Can someone get in touch with me", "contact_request", "get in touch with me"),
        ("STOP CALLING ME", "opt_out", "STOP CALLING ME"),
        ("take me off your list", "opt_out", "take me off your list"),
        ("dont call me again", "opt_out", "dont call me again"),
    ],
)
def test_label_fires_on_clear_case(text: str, label: str, phrase: str) -> None:
    """A clear phrase flags its label and is reported verbatim as (part of) a trigger."""
    result = analyse_comment(text).labels[label]
    assert result.flagged
    assert any(phrase in reported for reported in result.phrases)


def test_spans_point_at_the_phrases() -> None:
    """Each span slices the original text to exactly the reported phrase."""
    text = "Honestly I'm WORRIED, my mother needs her medication. Please ring me back."
    analysis = analyse_comment(text)
    for result in analysis.labels.values():
        assert len(result.spans) == len(result.phrases)
        for (start, end), phrase in zip(result.spans, result.phrases, strict=True):
            assert text[start:end] == phrase
    assert analysis.labels["distress"].phrases == ("WORRIED", "needs her medication")
    assert analysis.labels["contact_request"].phrases == ("ring me back",)


@pytest.mark.parametrize(
    "text",
    [
        "I'm not worried, just curious",
        "no complaints",
        "I don't need a call back",
        "you don't need to call me",
        "nothing to complain about",
        "not bad at all",
        "don't stop calling me, I like the surveys",
        "No worries, thanks",
        "I don\u2019t need a call back",
        "i dont need anyone to ring me",
    ],
)
def test_negated_or_polite_phrase_flags_nothing(text: str) -> None:
    """Negation and politeness cancel the cue they sit in front of."""
    assert analyse_comment(text).flagged() == []


def test_past_worry_that_was_resolved_is_not_distress() -> None:
    """'I was worried at first but you fixed it' needs no urgent callback."""
    assert not analyse_comment("I was worried at first but you fixed it").labels["distress"].flagged


def test_ongoing_worry_is_distress_even_if_something_was_fixed() -> None:
    """Present-tense worry still counts when a fix is mentioned."""
    text = "I'm still worried even though they said it's fixed"
    assert analyse_comment(text).labels["distress"].flagged


@pytest.mark.parametrize(
    "text",
    [
        "I'd like to pay my rent through the app in future",
        "the heating engineer was great",
        "I called to update my prescription delivery address, all done",
    ],
)
def test_routine_mention_of_money_or_health_is_not_distress(text: str) -> None:
    """Rent, heating or a prescription alone, with no fear or deadline, is routine."""
    assert not analyse_comment(text).labels["distress"].flagged


def test_contrast_word_ends_negation() -> None:
    """'not angry, just disappointed' is still a negative experience."""
    assert analyse_comment("I'm not angry just disappointed").labels["negative"].flagged


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("don't call me email me i'm at work all day", "email me"),
        ("the calls scare my mum please stop them and ring me instead", "ring me"),
        ("nobody cares i need a call from someone", "a call from someone"),
    ],
)
def test_negation_ends_at_its_object_or_a_new_subject(text: str, phrase: str) -> None:
    """Without punctuation, "don't" or "stop" does not reach a request in the next clause."""
    reading = read_rules(text)
    kept = [text[s:e] for s, e in reading.spans["contact_request"]]
    assert phrase in kept


def test_dont_call_me_back_is_not_an_opt_out() -> None:
    """Declining a callback is not asking to leave the survey list; asking to be emailed
    instead is asking to be contacted (data/LABELS.md)."""
    analysis = analyse_comment("Please don't call me back, just email me")
    assert analysis.flagged() == ["contact_request"]
    assert analysis.labels["contact_request"].phrases == ("email me",)


@pytest.mark.parametrize(
    ("text", "label", "flagged"),
    [
        # data/LABELS.md's own examples.
        ("i haven't slept since the letter came", "distress", True),
        ("my dad's oxygen is running low and nobody's coming", "distress", True),
        ("i'm scared they'll cut us off with a newborn in the house", "distress", True),
        ("i was panicking but she sorted it, i'm fine now", "distress", False),
        ("i called about my bill and she fixed it, thanks", "negative", False),
        ("oh great, only an hour on hold", "negative", True),
        ("i'd really like to talk to someone about this", "contact_request", True),
        ("they said they'd call me back", "contact_request", False),
        ("i'm sorted, don't bother ringing", "contact_request", False),
        ("i'm sorted, don't bother ringing", "opt_out", False),
        ("no need to call me back about this one, it's fixed", "opt_out", False),
        ("cancel my order", "opt_out", False),
        ("stop charging me", "opt_out", False),
        ("please don't send me any more of these surveys", "opt_out", True),
    ],
)
def test_the_labelling_guide_examples(text: str, label: str, flagged: bool) -> None:
    """The reader agrees with the guide every author labels by."""
    assert analyse_comment(text).labels[label].flagged is flagged


def test_a_happy_caller_flags_nothing() -> None:
    """The happy.wav fixture's words: praise, with "problem" only as what was solved."""
    text = (
        "The agent was wonderful and solved my problem quickly. Thank you so much, I am very "
        "happy with the service and I will recommend you to my friends."
    )
    assert analyse_comment(text).flagged() == []
    assert analyse_comment(text.lower().replace(".", "").replace(",", "")).flagged() == []


@pytest.mark.parametrize(
    "text",
    [
        "The hold music wouldn't stop but she was lovely",
        "I had a list of issues and she fixed them all",
        "please take me off hold next time",
        "He stopped the payment straight away",
    ],
)
def test_other_senses_of_stop_and_list_are_not_opt_out(text: str) -> None:
    """'stop' and 'list' in other senses don't opt the caller out."""
    assert not analyse_comment(text).labels["opt_out"].flagged


def test_reported_promise_of_a_call_is_not_a_request() -> None:
    """'they said they'd call me back' reports a promise; it's a complaint, not a request."""
    analysis = analyse_comment("they said they'd call me back and never did")
    assert analysis.flagged() == ["negative"]


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("i can't cope with this anymore", "distress"),
        ("please don't send me any more of these surveys", "opt_out"),
        ("Horrible, pathetic, a total nightmare", "negative"),
        ("my husband passed in march and since then i just lie awake over these bills", "distress"),
    ],
)
def test_phrasing_the_old_word_list_missed_is_read(text: str, label: str) -> None:
    """The issue's examples, and the like, flag their label with a verbatim phrase."""
    result = analyse_comment(text).labels[label]
    assert result.flagged
    assert result.phrases
    assert all(text[s:e] == p for (s, e), p in zip(result.spans, result.phrases, strict=True))


def test_label_without_a_cue_is_explained_by_its_best_clause() -> None:
    """With no cue to quote, the phrase is the clause that says it, not the whole comment."""
    text = (
        "the lady on the phone was lovely, anyway i just feel so lost and alone since my "
        "husband passed and the letters keep coming"
    )
    result = analyse_comment(text).labels["distress"]
    assert result.flagged
    (phrase,) = result.phrases
    assert phrase != text and "lost and alone" in phrase
    assert "lovely" not in phrase


def test_unflagged_labels_quote_nothing() -> None:
    """Phrases explain a flag; a label that is not flagged has none."""
    analysis = analyse_comment("the agent was lovely and sorted my bill out")
    assert analysis.flagged() == []
    assert all(r.phrases == () and r.spans == () for r in analysis.labels.values())


def test_the_word_list_reader_is_still_callable() -> None:
    """model=False reads with the 1.2 rules alone (the benchmark's baseline)."""
    analysis = analyse_comment("STOP CALLING ME, I'm worried", model=False)
    assert analysis.analyser_version == RULES_VERSION == "1.2.0"
    assert analysis.flagged() == ["distress", "opt_out"]
    assert analysis.labels["opt_out"].phrases == ("STOP CALLING ME",)


def test_the_committed_model_belongs_to_this_reader() -> None:
    """comment_model.json was trained for ANALYSER_VERSION: bump both or neither."""
    model = get_model()
    assert MODEL_PATH.exists()
    assert model.version == ANALYSER_VERSION
    assert set(model.thresholds) == set(LABELS)
    assert "data/heldout/comments.jsonl" not in model.meta["data"]


def test_a_feature_never_seen_in_training_does_not_silence_the_comment() -> None:
    """ "cannot complain, really" sets a cue feature that was constant in training: the rest of
    the comment is still read (reader 2.4.0 scaled it by ~1e6 and flagged nothing)."""
    text = (
        "I cannot complain about the staff, but I'm terrified about my results and can't"
        " sleep, please call me back"
    )
    assert {"distress", "contact_request"} <= set(analyse_comment(text).flagged())


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_text_flags_nothing(text: str) -> None:
    """Blank transcripts give every label, unflagged, with score 0."""
    analysis = analyse_comment(text)
    assert set(analysis.labels) == set(LABELS)
    assert analysis.flagged() == []
    assert all(r.score == 0.0 and r.phrases == () for r in analysis.labels.values())


def test_scores_are_between_zero_and_one() -> None:
    """Every score is a probability-like number in 0..1."""
    for row in _load_rows():
        for result in analyse_comment(row["text"]).labels.values():
            assert 0.0 <= result.score <= 1.0


def test_flagged_follows_labels_order() -> None:
    """flagged() lists labels in LABELS order."""
    text = "stop calling me, but first call me back, I'm worried and the agent was rude"
    analysis = analyse_comment(text)
    assert analysis.flagged() == [name for name in LABELS if analysis.labels[name].flagged]


def test_to_dict_from_dict_round_trip_through_json() -> None:
    """The stored JSON form rebuilds an equal analysis, version included."""
    analysis = analyse_comment("Please call me back, I'm scared about the rent due on the 1st")
    stored = json.loads(json.dumps(analysis.to_dict()))
    assert stored["analyser_version"] == ANALYSER_VERSION
    assert CommentAnalysis.from_dict(stored) == analysis


def test_concurrent_calls_agree() -> None:
    """Threads sharing the lazily built VADER get the same answers."""
    texts = [row["text"] for row in _load_rows()]
    expected = [analyse_comment(t) for t in texts]
    results: list[list[CommentAnalysis]] = []

    def work() -> None:
        results.append([analyse_comment(t) for t in texts])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == expected for r in results)


def test_fixture_has_enough_varied_rows_and_a_holdout() -> None:
    """The labelled set is big enough and about 30% holdout."""
    rows = _load_rows()
    assert len(rows) >= 100
    assert all(set(r["labels"]) <= set(LABELS) for r in rows)
    holdout = sum(r["split"] == "holdout" for r in rows)
    assert 0.25 <= holdout / len(rows) <= 0.35
