"""The MiniLM forward pass in torch: same vectors as sentence-transformers, loaded once."""

from __future__ import annotations

import numpy as np
import pytest

from transcription.embeddings import MiniLMEmbedder, bundled_model_path, get_embedder

SENTENCES = [
    "i can't cope with this anymore",
    "please don't send me any more of these surveys",
    "The agent was great, thanks!",
    "um i was really worried about my mum's prescription but the lady found it and it's "
    "being delivered tomorrow so i'm fine now",
    "STOP CALLING ME",
    "call me back please",
    "na\u00efve caf\u00e9 \u2013 r\u00e9sum\u00e9, \u00a345 charged twice \U0001f600",
    "my rent is due friday and i'm scared",
    "",
    "hold " * 300,  # longer than the 256-token window: truncated the same way
]


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return get_embedder()


def test_embeddings_are_unit_length_rows(embedder: MiniLMEmbedder) -> None:
    """One 384-dimensional unit vector per text, empty text included."""
    vectors = embedder.encode(SENTENCES)
    assert vectors.shape == (len(SENTENCES), 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_batching_and_padding_do_not_change_a_vector(embedder: MiniLMEmbedder) -> None:
    """A text embeds the same alone or padded in a batch with longer ones."""
    batch = embedder.encode(SENTENCES, batch_size=4)
    alone = np.stack([embedder.encode([text])[0] for text in SENTENCES])
    assert np.allclose(batch, alone, atol=1e-5)


def test_no_texts_give_an_empty_matrix(embedder: MiniLMEmbedder) -> None:
    """encode([]) is a (0, 384) matrix, not an error."""
    assert embedder.encode([]).shape == (0, 384)


def test_model_is_loaded_once_per_process() -> None:
    """get_embedder returns the same object every time (like transcription.engines)."""
    assert get_embedder() is get_embedder()
    assert get_embedder(bundled_model_path()) is get_embedder()


def test_similar_sentences_are_closer_than_unrelated_ones(embedder: MiniLMEmbedder) -> None:
    """The vectors mean something: two opt-outs are nearer each other than to praise."""
    stop, remove, praise = embedder.encode(
        ["stop calling me", "remove my number from your list", "the agent was lovely"]
    )
    assert float(stop @ remove) > float(stop @ praise) + 0.1


@pytest.mark.slow
def test_same_vectors_as_sentence_transformers(
    embedder: MiniLMEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cosine >= 0.9999 with sentence-transformers on the same bundled folder, offline."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import sentence_transformers  # in requirements-dev.txt: CI must run this, never skip it

    reference = sentence_transformers.SentenceTransformer(
        str(bundled_model_path()), device="cpu"
    ).encode(SENTENCES, convert_to_numpy=True)
    ours = embedder.encode(SENTENCES)
    cosine = (ours * reference).sum(axis=1) / (
        np.linalg.norm(ours, axis=1) * np.linalg.norm(reference, axis=1)
    )
    assert cosine.min() >= 0.9999, cosine


def test_pooled_means_are_the_sentence_vectors(embedder: MiniLMEmbedder) -> None:
    """encode_pooled's means are encode's vectors, batched however lengths group them; its
    token maxima are finite and the same for a text alone or among others."""
    means, maxima = embedder.encode_pooled(SENTENCES)
    assert np.allclose(means, embedder.encode(SENTENCES), atol=1e-5)
    assert maxima.shape == (len(SENTENCES), 384) and np.isfinite(maxima).all()
    alone = np.stack([embedder.encode_pooled([text])[1][0] for text in SENTENCES])
    assert np.allclose(maxima, alone, atol=1e-4)


def test_encoding_leaves_the_process_torch_threads_as_they_were(
    embedder: MiniLMEmbedder,
) -> None:
    """The encoder picks its own thread count for its pass and puts the process's back."""
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        embedder.encode(["call me back please"])
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
