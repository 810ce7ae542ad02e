"""MiniLM's layers over padded batches, for training the reader's top layers
(``scripts/tune_encoder.py``).

The reader packs a comment's tokens with no padding (``transcription.embeddings``), which
suits reading one comment at a time; training runs many comments in batches of similar
lengths, padded, differentiable outside inference mode. Both run the same weights:
``tests/transcription/test_tuned_encoder.py`` checks that training's vectors are the reader's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

from transcription.embeddings import EncoderLayer, MiniLMEmbedder

Array = npt.NDArray[np.float32]


def embed_tokens(embedder: MiniLMEmbedder, tokens: torch.Tensor) -> torch.Tensor:
    """The input to the first layer: word, position and token-type embeddings, normed."""
    x = (
        embedder.word[tokens]
        + embedder.position[: tokens.shape[1]][None, :, :]
        + embedder.token_type[0]
    )
    return F.layer_norm(
        x, (embedder.hidden,), embedder.emb_norm_w, embedder.emb_norm_b, embedder.eps
    )


def run_layers(
    embedder: MiniLMEmbedder, x: torch.Tensor, real: torch.Tensor, layers: Sequence[EncoderLayer]
) -> torch.Tensor:
    """``layers`` over hidden states ``x`` (batch, tokens, hidden), ``real`` marking the
    tokens that are not padding."""
    batch, length, hidden = x.shape
    heads, size, eps = embedder.heads, embedder.hidden // embedder.heads, embedder.eps
    # Padding keys get the most negative float, as transformers does, so they weigh 0.
    bias = ((1.0 - real) * torch.finfo(torch.float32).min)[:, None, None, :]
    for layer in layers:
        qkv = torch.addmm(layer.qkv_b, x.reshape(-1, hidden), layer.qkv_w)
        q, k, v = qkv.reshape(batch, length, 3, heads, size).permute(2, 0, 3, 1, 4)
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        context = context.transpose(1, 2).reshape(-1, hidden)
        attended = torch.addmm(layer.attn_out_b, context, layer.attn_out_w)
        x = F.layer_norm(
            x + attended.reshape(batch, length, hidden),
            (hidden,),
            layer.attn_norm_w,
            layer.attn_norm_b,
            eps,
        )
        inner = F.gelu(torch.addmm(layer.inter_b, x.reshape(-1, hidden), layer.inter_w))
        out = torch.addmm(layer.out_b, inner, layer.out_w).reshape(batch, length, hidden)
        x = F.layer_norm(x + out, (hidden,), layer.out_norm_w, layer.out_norm_b, eps)
    return x


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped in batches of similar token counts (a batch pads to its longest):
    sorted by length, a new batch when one is full or a text is over twice its shortest."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = [[]]
    for i in order:
        batch = batches[-1]
        shortest = lengths[batch[0]] if batch else 0
        if batch and (len(batch) == batch_size or lengths[i] > 2 * shortest + 8):
            batches.append([i])
        else:
            batch.append(i)
    return [b for b in batches if b]


def token_batch(
    sequences: Sequence[Sequence[int]],
) -> tuple[npt.NDArray[np.int64], Array, npt.NDArray[np.bool_]]:
    """Token ids padded to the longest, the mask of real tokens, and the word tokens
    (between [CLS] and [SEP]; an empty text has only those two, so they are kept)."""
    length = max(len(s) for s in sequences)
    ids = np.zeros((len(sequences), length), dtype=np.int64)
    mask = np.zeros((len(sequences), length), dtype=np.float32)
    words = np.zeros((len(sequences), length), dtype=bool)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1.0
        words[row, : len(seq)] = True
        if len(seq) > 2:
            words[row, 0] = words[row, len(seq) - 1] = False
    return ids, mask, words


def pool(hidden: Array, mask: Array, words: npt.NDArray[np.bool_]) -> tuple[Array, Array]:
    """Per row of the last layer: the mean over real tokens at unit length (modules.json:
    Pooling, Normalize) and the max over word tokens."""
    summed = (hidden * mask[:, :, None]).sum(axis=1)
    pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    maxima = np.where(words[:, :, None], hidden, -np.inf).max(axis=1)
    return (pooled / np.maximum(norms, 1e-12)).astype(np.float32), maxima.astype(np.float32)
