"""Grouping, naming and the rising statistic, as pure functions (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from tests.themes.conftest import by_topic, dev_rows, embed
from themes import grouping, naming, rising


def adjusted_rand(truth: list[str], labels: list[int]) -> float:
    """ARI with each unthemed comment (-1) counted as a group of its own."""
    alone = [label if label >= 0 else -(i + 1) for i, label in enumerate(labels)]
    return float(adjusted_rand_score(truth, alone))


@pytest.fixture(scope="module")
def dev() -> tuple[list[str], np.ndarray]:
    rows = dev_rows()
    return [topic for _, topic in rows], embed([text for text, _ in rows])


def test_dev_set_topics_come_out_as_themes(dev: tuple[list[str], np.ndarray]) -> None:
    """On our own labelled comments, themes follow topics (ARI >= 0.5) with no k given."""
    topics, vectors = dev
    labels = grouping.group(vectors)
    assert adjusted_rand(topics, labels.tolist()) >= 0.5
    assert int(labels.max()) + 1 >= 8  # 14 topics: the count is found, not told


def test_groups_below_the_minimum_size_are_not_themes() -> None:
    """Two comments alike make no theme; three do."""
    texts = by_topic()["refund"]
    assert set(grouping.group(embed(texts[:2])).tolist()) == {-1}
    assert set(grouping.group(embed(texts[:3])).tolist()) == {0}


def test_sampled_linking_finds_the_same_themes(dev: tuple[list[str], np.ndarray]) -> None:
    """Past MAX_LINKED comments a sample is linked and the rest join: about as good."""
    topics, vectors = dev
    whole = adjusted_rand(topics, grouping.group(vectors).tolist())
    sampled = adjusted_rand(topics, grouping.group(vectors, max_linked=40).tolist())
    assert sampled >= whole - 0.15


def test_every_themed_comment_is_alike_enough_to_its_centroid(
    dev: tuple[list[str], np.ndarray],
) -> None:
    """A rebuilt theme obeys the daily rule: members at JOIN_SIMILARITY or more."""
    _, vectors = dev
    labels = grouping.group(vectors)
    count = int(labels.max()) + 1
    centres = grouping.centroids(vectors, labels, count)
    kept = labels >= 0
    similarity = (vectors[kept] * centres[labels[kept]]).sum(axis=1)
    assert similarity.min() >= grouping.JOIN_SIMILARITY - 1e-6


def test_a_comment_unlike_every_theme_joins_none() -> None:
    """The nearest theme must be at least JOIN_SIMILARITY alike."""
    topics = by_topic()
    centres = grouping.centroids(
        embed(topics["refund"] + topics["delivery"]),
        np.array([0] * len(topics["refund"]) + [1] * len(topics["delivery"])),
        2,
    )
    labels, _ = grouping.nearest(
        embed(["where is my refund, it never came", "my grandson plays the violin"]), centres
    )
    assert labels.tolist() == [0, -1]


def test_a_theme_is_named_by_the_words_that_set_it_apart() -> None:
    """c-TF-IDF: words its comments share and the other themes' comments do not."""
    topics = by_topic()
    names = naming.names([topics["refund"], topics["internet_outage"], topics["app_login"]])
    assert names[0].lower().startswith("refund")
    assert "broadband" in names[1].lower() or "internet" in names[1].lower()
    assert "app" in names[2].lower() or "password" in names[2].lower()
    assert all(len(name) <= naming.MAX_NAME_CHARS for name in names)


def test_a_word_that_comes_in_a_pair_is_named_as_the_pair() -> None:
    """ "direct debit", not "debit, direct"."""
    debit = [
        "the direct debit went out twice",
        "my direct debit was taken early",
        "cancel the direct debit please",
    ]
    other = ["the parcel never came", "the parcel was left outside", "parcel damaged"]
    assert naming.names([debit, other])[0].startswith("Direct debit")


def test_poisson_tail_matches_known_values() -> None:
    """P(X >= k) for a Poisson mean: the statistic the rising test uses."""
    assert rising.poisson_tail(0, 3.0) == 1.0
    assert rising.poisson_tail(5, 1.0) == pytest.approx(0.00366, abs=1e-5)
    assert rising.poisson_tail(10, 4.0) == pytest.approx(0.00813, abs=1e-5)


@pytest.mark.parametrize(
    ("this_week", "previous", "expected"),
    [
        (14, [3, 2, 4, 3], True),  # far above a usual of 3 a week
        (5, [3, 2, 4, 3], False),  # within a usual week
        (4, [0, 0, 0, 0], False),  # too few comments to call, however new
        (6, [0, 0, 0, 0], True),  # a new subject, suddenly talked about
        (30, [25, 30, 28, 27], False),  # a big theme at its usual size
    ],
)
def test_rising_means_far_above_the_previous_four_weeks(
    this_week: int, previous: list[int], expected: bool
) -> None:
    """Rising: p < 0.01 against the mean of the 4 weeks before, and at least MIN_COUNT."""
    assert rising.test(this_week, [99, *previous]).rising is expected


def test_weeks_start_on_monday_utc() -> None:
    """A Sunday night belongs to the week that began the Monday before."""
    sunday = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert rising.week_start(sunday) == datetime(2026, 11, 16, tzinfo=UTC)
