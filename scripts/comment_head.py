"""The comment reader's head, trained in torch for ``scripts/train_comment_model.py``.

One hidden layer (GELU, tanh form) shared by the four labels, one logit per label, trained
with binary cross-entropy on the standardised features (dropout on the input: most of them
are embedding dimensions), from a few seeds whose probabilities the reader averages. The
reader runs the same network in numpy (``transcription.comment_model.Head``), so the web
app never imports torch.

A feature that was constant in training (``MIN_SCALE``) is scaled by 1, reads 0 there, and
its hidden-layer weights are set to 0 after fitting: its random initial weights would
otherwise move every label the first time it fires at run time.

Deterministic: one torch thread while training, fixed seeds, deterministic algorithms.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch

from transcription.comment_model import (
    Head,
    ensemble_probabilities,
    feature_scaling,
    standardise,
)
from transcription.embeddings import torch_threads

Matrix = npt.NDArray[np.float64]
Vector = npt.NDArray[np.float64]

HIDDEN = 64
INPUT_DROPOUT = 0.2
WEIGHT_DECAY = 0.01
EPOCHS = 20
BATCH = 64
LEARNING_RATE = 1e-3
SEEDS = (0, 1, 2)


def train_network(z: Matrix, y: Matrix, seed: int) -> torch.nn.Sequential:
    """One network on standardised features ``z`` and 0/1 targets ``y`` (one column a label),
    in eval mode: input dropout, hidden layer, GELU, output layer (logits)."""
    # Only while training: the setting is the process's, and a test imports this.
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        with torch_threads(1):
            torch.manual_seed(seed)
            order = torch.Generator().manual_seed(seed)
            net = torch.nn.Sequential(
                torch.nn.Dropout(INPUT_DROPOUT),
                torch.nn.Linear(z.shape[1], HIDDEN),
                torch.nn.GELU(approximate="tanh"),
                torch.nn.Linear(HIDDEN, y.shape[1]),
            )
            optimiser = torch.optim.AdamW(
                net.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY
            )
            inputs = torch.tensor(z, dtype=torch.float32)
            targets = torch.tensor(y, dtype=torch.float32)
            for _ in range(EPOCHS):
                shuffled = torch.randperm(len(inputs), generator=order)
                for start in range(0, len(inputs), BATCH):
                    batch = shuffled[start : start + BATCH]
                    loss = torch.nn.functional.binary_cross_entropy_with_logits(
                        net(inputs[batch]), targets[batch]
                    )
                    optimiser.zero_grad()
                    loss.backward()
                    optimiser.step()
            return net.eval()
    finally:
        torch.use_deterministic_algorithms(deterministic)


def to_head(net: torch.nn.Sequential, live: npt.NDArray[np.bool_]) -> Head:
    """The numpy form of a trained network, with no weight on the features not ``live``."""
    hidden, out = [layer for layer in net if isinstance(layer, torch.nn.Linear)]
    hidden_w = hidden.weight.detach().numpy().T.astype(np.float32)
    hidden_w[~live] = 0.0
    return Head(
        hidden_w=hidden_w,
        hidden_b=hidden.bias.detach().numpy().astype(np.float32),
        out_w=out.weight.detach().numpy().T.astype(np.float32),
        out_b=out.bias.detach().numpy().astype(np.float32),
    )


def fit_heads(x: Matrix, y: Matrix) -> tuple[Vector, Vector, tuple[Head, ...]]:
    """The feature scaling and one head per seed, all fitted on ``x`` alone."""
    mean, scale, live = feature_scaling(x)
    z = standardise(x, mean, scale)
    return mean, scale, tuple(to_head(train_network(z, y, seed), live) for seed in SEEDS)


def predict(fitted: tuple[Vector, Vector, tuple[Head, ...]], x: Matrix) -> Matrix:
    """P(label) for each row of ``x`` (one column a label): the reader's forward pass."""
    mean, scale, heads = fitted
    return ensemble_probabilities(x, mean, scale, heads).astype(np.float64)
