"""The comment reader's head as trained (``scripts/comment_head.py``, torch) and as read at
run time (``transcription.comment_model``, numpy): one network, one forward pass."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest
import torch

from tests.sources import load_source
from transcription.comment_model import MIN_SCALE, CommentModel, Head
from transcription.labels import LABELS


@pytest.fixture(scope="module")
def comment_head() -> ModuleType:
    """scripts/comment_head.py (a script, not a package) loaded as a module."""
    return load_source("scripts/comment_head.py")


def _data(rows: int = 160, columns: int = 12) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(rows, columns))
    y = (x[:, : len(LABELS)] + rng.normal(scale=0.5, size=(rows, len(LABELS))) > 0).astype(float)
    return x, y


def _model(mean: np.ndarray, scale: np.ndarray, heads: tuple[Head, ...]) -> CommentModel:
    return CommentModel(
        version="test",
        embedding="test",
        mean=mean.astype(np.float32),
        scale=scale.astype(np.float32),
        heads=heads,
        thresholds=dict.fromkeys(LABELS, 0.5),
        meta={},
    )


def test_numpy_forward_pass_matches_the_trained_torch_network(comment_head: ModuleType) -> None:
    """The numpy head gives the torch network's probabilities on random inputs."""
    x, y = _data()
    net = comment_head.train_network(x, y, seed=0)
    head = comment_head.to_head(net, np.ones(x.shape[1], dtype=bool))
    z = np.random.default_rng(1).normal(scale=2.0, size=(50, x.shape[1])).astype(np.float32)
    with torch.no_grad():
        expected = torch.sigmoid(net(torch.from_numpy(z))).numpy()
    np.testing.assert_allclose(head.probabilities(z), expected, atol=1e-5)


def test_training_scores_through_the_readers_forward_pass(comment_head: ModuleType) -> None:
    """What the training script scores for a row is what the reader gives for it."""
    x, y = _data()
    fitted = comment_head.fit_heads(x, y)
    rows = np.random.default_rng(2).normal(size=(30, x.shape[1]))
    reader = _model(*fitted).probabilities(rows.astype(np.float32))
    trained = comment_head.predict(fitted, rows)
    for j, name in enumerate(LABELS):
        np.testing.assert_allclose(trained[:, j], reader[name], atol=1e-5)


def test_a_feature_constant_in_training_cannot_move_any_label(comment_head: ModuleType) -> None:
    """A feature that never varied in training gets scale 1 and no weights, so a value met
    at run time changes no probability."""
    x, y = _data()
    x[:, -1] = 0.0
    mean, scale, heads = comment_head.fit_heads(x, y)
    assert scale[-1] == 1.0
    assert all(not head.hidden_w[-1].any() for head in heads)
    rows = np.zeros((2, x.shape[1]))
    rows[1, -1] = 1.0
    p = comment_head.predict((mean, scale, heads), rows)
    np.testing.assert_array_equal(p[0], p[1])


def test_the_reader_ignores_a_feature_stored_with_a_tiny_scale(comment_head: ModuleType) -> None:
    """A model file whose scale for a feature is below MIN_SCALE reads that feature as 0
    instead of multiplying it by ~1e6 (which saturated every label in reader 2.4.0)."""
    x, y = _data()
    mean, scale, _ = comment_head.fit_heads(x, y)
    heads = (comment_head.to_head(comment_head.train_network(x, y, seed=0), scale > 0),)
    scale[-1] = MIN_SCALE / 100
    model = _model(mean, scale, heads)
    rows = np.zeros((2, x.shape[1]), dtype=np.float32)
    rows[1, -1] = 1.0
    p = model.probabilities(rows)
    for name in LABELS:
        assert p[name][0] == p[name][1]
