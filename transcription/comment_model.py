"""The learned part of the reader: a small network on how MiniLM reads a comment plus what
the word-list cues found in it.

The comment is read three ways in one encoder batch (``embed``): the mean of its tokens
(the gist), the max over its tokens, and the max over the mean vectors of its clauses
(long clauses cut into windows, ``transcription.context.units``). The two maxima keep a
short request or fear buried in a long ramble from being averaged away ("...anyway take
me off your list"). The cue features carry what the cues are good at and embeddings are
not: negation, reported speech, a worry already resolved, and (``transcription.boundary``)
the wording at the edges of distress and opt-out.

Since reader 2.4 the features go through one GELU hidden layer shared by the four labels
(a head per training seed, probabilities averaged) instead of a logistic regression per
label: on leave-one-author-out it reads the cue flags together with the embedding rather
than adding them up. It runs here in numpy; ``scripts/train_comment_model.py`` trains it
in torch from committed data, with the feature scaling and the per-label thresholds, into
``comment_model.json`` next to this module (read once per process).

Since reader 2.6 the encoder's top two layers are MiniLM's as fine-tuned on the labelled
comments (``scripts/tune_encoder.py``): a reported call and an asked one, a survey declined
and all contact refused, read alike by the packaged layers, come apart there. The layers
served are one of the sets the head was trained on the vectors of (tuned without a third
of the authors), not layers tuned once more on everything: those read a new author's
comments differently from any vectors the head and thresholds were fitted on (reader 2.5,
which missed opt-outs on every held-out set). They are stored in float16 in
``comment_encoder.safetensors`` (named by digest in the model) and run on top of the
packaged layers below them (``TunedLayers``), so a comment costs the same.
"""

from __future__ import annotations

import base64
import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from transcription.boundary import BOUNDARY_NAMES, boundary_features
from transcription.context import REASONS, WORD, units
from transcription.cues_2 import RESOLVED_2
from transcription.embeddings import TunedLayers, load_tuned_layers
from transcription.labels import LABELS
from transcription.rules import RuleReading, read_rules

Vector = npt.NDArray[np.float32]
Matrix = npt.NDArray[np.float32]

Span = tuple[int, int]

MODEL_PATH = Path(__file__).resolve().with_name("comment_model.json")
# The encoder's top layers as tuned for the reader (2.5 on), next to the model that names them.
TUNED_PATH = MODEL_PATH.with_name("comment_encoder.safetensors")
# The token maxima are ~10x the unit-length means; scaled only so the stored features read
# alike (the model standardises every feature anyway).
TOKEN_MAX_SCALE = 0.1
# A feature whose spread in training is at most this was (all but) constant there: the head
# learnt nothing from it, and dividing by that spread would turn a value met at run time into
# ~1e6 and saturate every label. Training gives it scale 1 and no weights; the reader reads
# a feature stored with a smaller scale as 0.
MIN_SCALE = 1e-4


def cue_feature_names() -> list[str]:
    """Names of the cue features, in the order ``cue_features`` writes them."""
    names = []
    for label in LABELS:
        names += [f"{label}.score", f"{label}.strongest", f"{label}.cues"]
        names += [f"{label}.dropped.{reason}" for reason in REASONS]
    return [
        *names,
        *("vader.compound", "vader.negative", "vader.positive", "resolved", "words"),
        *BOUNDARY_NAMES,
    ]


def feature_names() -> list[str]:
    """The blocks of ``features``, in order: a model trained on another layout is refused."""
    return ["embedding.mean", "embedding.token_max", "embedding.unit_max", *cue_feature_names()]


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
    return np.concatenate([np.asarray(values, dtype=np.float32), boundary_features(text, reading)])


@dataclass(frozen=True)
class Embedded:
    """What the encoder gave for one comment and for each of its units."""

    mean: Vector
    token_max: Vector
    units: tuple[Span, ...]
    unit_means: Matrix  # one row per unit
    unit_maxima: Matrix


class PooledEncoder(Protocol):
    """What ``embed`` needs of an encoder (``MiniLMEmbedder``; training's cached one)."""

    def encode_pooled(
        self, texts: Sequence[str], batch_size: int = 32, tuned: TunedLayers | None = None
    ) -> tuple[Matrix, Matrix]: ...


def unit_spans(texts: Sequence[str]) -> list[list[Span]]:
    """The units of each comment that are encoded besides the comment itself: a unit that
    is the whole comment (a short comment is one clause) is not encoded twice."""
    return [[s for s in units(text) if text[slice(*s)] != text] for text in texts]


def _pieces(texts: Sequence[str], spans: Sequence[Sequence[Span]]) -> list[str]:
    """What ``embed`` sends to the encoder: the comments, then every unit of each."""
    return [*texts, *(t[s:e] for t, found in zip(texts, spans, strict=True) for s, e in found)]


def encoded_texts(texts: Sequence[str]) -> list[str]:
    """Every text ``embed`` sends to the encoder for ``texts`` (comments, then units), once."""
    return list(dict.fromkeys(_pieces(texts, unit_spans(texts))))


def embed(
    texts: Sequence[str], embedder: PooledEncoder, tuned: TunedLayers | None = None
) -> list[Embedded]:
    """Every comment and every unit of every comment, in one call to the encoder (with the
    reader's fine-tuned top layers, ``tuned``, when the model names them)."""
    spans = unit_spans(texts)
    means, maxima = embedder.encode_pooled(_pieces(texts, spans), tuned=tuned)
    out: list[Embedded] = []
    next_unit = len(texts)
    for i, found in enumerate(spans):
        rows = slice(next_unit, next_unit + len(found)) if found else slice(i, i + 1)
        next_unit += len(found)
        out.append(
            Embedded(
                mean=means[i],
                token_max=maxima[i],
                units=tuple(found) or ((0, len(texts[i])),),
                unit_means=means[rows],
                unit_maxima=maxima[rows],
            )
        )
    return out


def features(embedded: Embedded, text: str, reading: RuleReading) -> Vector:
    """One row of the model's input: mean, token max, max over units, then the cue block."""
    return np.concatenate(
        [
            embedded.mean,
            embedded.token_max * TOKEN_MAX_SCALE,
            embedded.unit_means.max(axis=0),
            cue_features(text, reading),
        ]
    ).astype(np.float32)


def unit_features(embedded: Embedded, text: str) -> Matrix:
    """One row per unit, each read as a comment of its own (to find the clause that
    explains a label the cues did not catch)."""
    rows = []
    for (start, end), mean, maximum in zip(
        embedded.units, embedded.unit_means, embedded.unit_maxima, strict=True
    ):
        piece = text[start:end]
        alone = Embedded(mean, maximum, ((0, len(piece)),), mean[None, :], maximum[None, :])
        rows.append(features(alone, piece, read_rules(piece)))
    return np.stack(rows)


def _gelu(x: Matrix) -> Matrix:
    """GELU, tanh form (the training script's ``nn.GELU(approximate="tanh")``)."""
    return (0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x**3)))).astype(np.float32)


def _pack(values: Matrix) -> str:
    """Weights as base64 float32 (one hidden layer is ~77k numbers: 4x smaller than text)."""
    return base64.b64encode(np.ascontiguousarray(values, dtype="<f4").tobytes()).decode()


def _unpack(text: str, shape: Sequence[int]) -> Matrix:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").reshape(shape).astype(np.float32)


@dataclass(frozen=True)
class Head:
    """One small network over the standardised features: a GELU hidden layer shared by
    every label, then one logit per label (``LABELS`` order)."""

    hidden_w: Matrix  # (features, hidden)
    hidden_b: Vector
    out_w: Matrix  # (hidden, labels)
    out_b: Vector

    def probabilities(self, z: Matrix) -> Matrix:
        logits = _gelu(z @ self.hidden_w + self.hidden_b) @ self.out_w + self.out_b
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))

    def to_json(self) -> dict[str, Any]:
        return {
            "shape": [*self.hidden_w.shape, self.out_w.shape[1]],
            **{k: _pack(getattr(self, k)) for k in ("hidden_w", "hidden_b", "out_w", "out_b")},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Head:
        features, hidden, labels = data["shape"]
        return cls(
            _unpack(data["hidden_w"], (features, hidden)),
            _unpack(data["hidden_b"], (hidden,)),
            _unpack(data["out_w"], (hidden, labels)),
            _unpack(data["out_b"], (labels,)),
        )


def feature_scaling(
    x: npt.NDArray[Any],
) -> tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[np.bool_]]:
    """The mean and scale of each feature over training rows ``x``, and which features
    varied there (``MIN_SCALE``): the others get scale 1 (they read 0) and no weights."""
    std = x.std(axis=0)
    live = np.asarray(std > MIN_SCALE)
    return x.mean(axis=0), np.where(live, std + 1e-6, 1.0), live


def standardise(
    rows: npt.NDArray[Any], mean: npt.NDArray[Any], scale: npt.NDArray[Any]
) -> npt.NDArray[Any]:
    """Raw feature rows as the heads read them; a feature stored with a scale of at most
    ``MIN_SCALE`` (a model file from before the rule) reads 0 instead of ~1e6."""
    kept = scale > MIN_SCALE
    return np.where(kept, (rows - mean) / np.where(kept, scale, 1.0), 0.0)


def ensemble_probabilities(
    rows: npt.NDArray[Any],
    mean: npt.NDArray[Any],
    scale: npt.NDArray[Any],
    heads: Sequence[Head],
) -> Matrix:
    """P(label) for each row of raw features (one column a label), the heads averaged: the
    reader's forward pass, and the training script's."""
    z = standardise(np.atleast_2d(rows), mean, scale).astype(np.float32)
    return np.mean([head.probabilities(z) for head in heads], axis=0).astype(np.float32)


@dataclass(frozen=True)
class CommentModel:
    """The heads (trained from different seeds, probabilities averaged) over one
    standardised feature vector, and the probability at which each label flags."""

    version: str
    embedding: str  # which sentence embedding the weights expect
    mean: Vector
    scale: Vector
    heads: tuple[Head, ...]
    thresholds: dict[str, float]
    meta: dict[str, Any]
    # The tuned top layers the features were made with (None: the packaged encoder's own).
    tuned: TunedLayers | None = None

    def probabilities(self, rows: Matrix) -> dict[str, Vector]:
        """P(label) for each row of raw features (``features``), per label."""
        p = ensemble_probabilities(rows, self.mean, self.scale, self.heads)
        return {name: p[:, j] for j, name in enumerate(LABELS)}

    def to_json(self) -> dict[str, Any]:
        def floats(values: Vector) -> list[float]:
            return [round(float(v), 6) for v in values]

        return {
            "version": self.version,
            "embedding": self.embedding,
            "features": feature_names(),
            "labels": list(LABELS),
            "mean": floats(self.mean),
            "scale": floats(self.scale),
            "thresholds": {name: round(t, 6) for name, t in self.thresholds.items()},
            "heads": [head.to_json() for head in self.heads],
            "tuned_layers": None
            if self.tuned is None
            else {"file": TUNED_PATH.name, "start": self.tuned.start, "sha256": self.tuned.digest},
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], folder: Path | None = None) -> CommentModel:
        """The model as ``to_json`` wrote it; its tuned layers read from ``folder``."""
        if data["features"] != feature_names() or data.get("labels") != list(LABELS):
            raise ValueError("comment model was trained on other features; retrain it")
        tuned = None
        if data.get("tuned_layers"):
            named = data["tuned_layers"]
            tuned = load_tuned_layers((folder or MODEL_PATH.parent) / named["file"])
            if tuned.digest != named["sha256"] or tuned.start != named["start"]:
                raise ValueError(f"{named['file']} is not the encoder this model was trained on")
        return cls(
            version=data["version"],
            embedding=data["embedding"],
            mean=np.asarray(data["mean"], dtype=np.float32),
            scale=np.asarray(data["scale"], dtype=np.float32),
            heads=tuple(Head.from_json(raw) for raw in data["heads"]),
            thresholds={name: float(t) for name, t in data["thresholds"].items()},
            meta=data.get("meta", {}),
            tuned=tuned,
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
                data = json.loads(Path(key).read_text())
                found = _models[key] = CommentModel.from_json(data, Path(key).parent)
    return found
