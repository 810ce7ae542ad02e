"""The learned part of the reader: per label, a logistic regression on the sentence
embedding of a comment plus what the word-list cues found in it.

The embedding carries phrasing nobody wrote a cue for ("i can't cope with this
anymore"); the cue features carry what the cues are good at and embeddings are not:
negation, reported speech, a worry already resolved. Weights, the feature scaling and the
per-label thresholds are trained by ``scripts/train_comment_model.py`` from committed data
and stored in ``comment_model.json`` next to this module (a few hundred kB of JSON, read
once per process).
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from transcription.context import REASONS, WORD
from transcription.cues_2 import RESOLVED_2
from transcription.labels import LABELS
from transcription.rules import RuleReading

Vector = npt.NDArray[np.float32]
Matrix = npt.NDArray[np.float32]

MODEL_PATH = Path(__file__).resolve().with_name("comment_model.json")


def cue_feature_names() -> list[str]:
    """Names of the cue features, in the order ``cue_features`` writes them."""
    names = []
    for label in LABELS:
        names += [f"{label}.score", f"{label}.strongest", f"{label}.cues"]
        names += [f"{label}.dropped.{reason}" for reason in REASONS]
    return [*names, "vader.compound", "vader.negative", "vader.positive", "resolved", "words"]


def cue_features(text: str, reading: RuleReading) -> Vector:
    """The cue block of the feature vector: per label what was kept and what was dropped."""
    values: list[float] = []
    for label in LABELS:
        weights = reading.weights[label]
        values += [reading.scores[label], max(weights, default=0.0), min(len(weights), 3) / 3]
        # Presence, not counts: one negated cue already says what the caller meant.
        values += [float(reading.dropped[label][reason] > 0) for reason in REASONS]
    words = len(WORD.findall(text))
    values += [
        reading.compound,
        reading.negative_share,
        reading.positive_share,
        float(RESOLVED_2.search(text) is not None),
        math.log1p(words) / 4,
    ]
    return np.asarray(values, dtype=np.float32)


def features(embedding: Vector, text: str, reading: RuleReading) -> Vector:
    """One row of the model's input: the embedding, then the cue block."""
    return np.concatenate([embedding, cue_features(text, reading)]).astype(np.float32)


@dataclass(frozen=True)
class LabelModel:
    """A logistic regression for one label and the probability at which it flags."""

    weights: Vector
    bias: float
    threshold: float


@dataclass(frozen=True)
class CommentModel:
    """All labels' regressions over one standardised feature vector."""

    version: str
    embedding: str  # which sentence embedding the weights expect
    mean: Vector
    scale: Vector
    labels: dict[str, LabelModel]
    meta: dict[str, Any]

    def probabilities(self, rows: Matrix) -> dict[str, Vector]:
        """P(label) for each row of raw features (``features``), per label."""
        z = (np.atleast_2d(rows) - self.mean) / self.scale
        out = {}
        for name, model in self.labels.items():
            logits = np.clip(z @ model.weights + model.bias, -30.0, 30.0)
            out[name] = (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
        return out

    def to_json(self) -> dict[str, Any]:
        def floats(values: Vector) -> list[float]:
            return [round(float(v), 6) for v in values]

        return {
            "version": self.version,
            "embedding": self.embedding,
            "features": cue_feature_names(),
            "mean": floats(self.mean),
            "scale": floats(self.scale),
            "labels": {
                name: {
                    "weights": floats(m.weights),
                    "bias": round(m.bias, 6),
                    "threshold": round(m.threshold, 6),
                }
                for name, m in self.labels.items()
            },
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CommentModel:
        if data["features"] != cue_feature_names():
            raise ValueError("comment model was trained on other cue features; retrain it")

        def vector(values: list[float]) -> Vector:
            return np.asarray(values, dtype=np.float32)

        return cls(
            version=data["version"],
            embedding=data["embedding"],
            mean=vector(data["mean"]),
            scale=vector(data["scale"]),
            labels={
                name: LabelModel(vector(raw["weights"]), float(raw["bias"]), raw["threshold"])
                for name, raw in data["labels"].items()
            },
            meta=data.get("meta", {}),
        )


_models: dict[str, CommentModel] = {}
_lock = threading.Lock()


def get_model(path: str | Path | None = None) -> CommentModel:
    """The trained model (default: the committed ``comment_model.json``), read once."""
    key = str(path or MODEL_PATH)
    found = _models.get(key)
    if found is None:
        with _lock:
            found = _models.get(key)
            if found is None:
                found = _models[key] = CommentModel.from_json(json.loads(Path(key).read_text()))
    return found
