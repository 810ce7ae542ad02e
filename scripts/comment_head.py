"""The comment reader's head, trained in torch for ``scripts/train_comment_model.py``.

One hidden layer (GELU, tanh form) shared by the four labels, one logit per label, trained
with binary cross-entropy on the standardised features (dropout on the input: most of them
are embedding dimensions), from a few seeds whose probabilities the reader averages. The
reader runs the same network in numpy (``transcription.comment_model.Head``), so the web
app never imports torch.

Deterministic: one torch thread while training, fixed seeds, deterministic algorithms.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch

from transcription.comment_model import Head

Matrix = npt.NDArray[np.float64]
Vector = npt.NDArray[np.float64]

HIDDEN = 64
INPUT_DROPOUT = 0.2
WEIGHT_DECAY = 0.01
EPOCHS = 20
BATCH = 64
LEARNING_RATE = 1e-3
SEEDS = (0, 1, 2)


def standardise(x: Matrix) -> tuple[Vector, Vector]:
    return x.mean(axis=0), x.std(axis=0) + 1e-6


def fit_head(z: Matrix, y: Matrix, seed: int) -> Head:
    """One network on standardised features ``z`` and 0/1 targets ``y`` (one column a label)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        torch.manual_seed(seed)
        order = torch.Generator().manual_seed(seed)
        hidden = torch.nn.Linear(z.shape[1], HIDDEN)
        out = torch.nn.Linear(HIDDEN, y.shape[1])
        net = torch.nn.Sequential(
            torch.nn.Dropout(INPUT_DROPOUT), hidden, torch.nn.GELU(approximate="tanh"), out
        )
        optimiser = torch.optim.AdamW(net.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
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
        return Head(
            hidden_w=hidden.weight.detach().numpy().T.astype(np.float32),
            hidden_b=hidden.bias.detach().numpy().astype(np.float32),
            out_w=out.weight.detach().numpy().T.astype(np.float32),
            out_b=out.bias.detach().numpy().astype(np.float32),
        )
    finally:
        torch.set_num_threads(before)


def fit_heads(x: Matrix, y: Matrix) -> tuple[Vector, Vector, tuple[Head, ...]]:
    """The feature scaling and one head per seed, all fitted on ``x`` alone."""
    mean, scale = standardise(x)
    z = (x - mean) / scale
    return mean, scale, tuple(fit_head(z, y, seed) for seed in SEEDS)


def predict(fitted: tuple[Vector, Vector, tuple[Head, ...]], x: Matrix) -> Matrix:
    """P(label) for each row of ``x`` (one column a label), the heads averaged."""
    mean, scale, heads = fitted
    z = ((x - mean) / scale).astype(np.float32)
    return np.mean([head.probabilities(z) for head in heads], axis=0).astype(np.float64)
