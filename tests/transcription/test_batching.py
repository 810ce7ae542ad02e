"""A transcription worker decodes the recordings queued behind its job in one batch.

The worker-level tests run the real pipeline, RQ worker and comment reader with a stand-in
engine that records the batches it was given; the engine-level tests (slow) run the real
tiny.en model on the phone fixtures.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from flask import Flask
from redis import Redis
from rq.job import Job

from callbacks.models import CallbackTask, Priority
from core import queues
from core.db import db
from core.models import CallSession, Recording, RecordingStatus
from simulator.actions import Press, RecordAudio
from simulator.caller import CallerSimulator
from tests.conftest import FIXTURES, Worker
from transcription import batching, pipeline, short_clips
from transcription.engines import Engine, EngineSettings, FasterWhisperEngine
from transcription.transcripts import Transcript

AUDIO = FIXTURES / "audio"
WORRIED = "I'm really worried, I was charged twice and my rent is due. Please call me back."


class BatchEngine:
    """A stand-in engine that notes each batch it decodes and hears a worried caller."""

    name = "fake"

    def __init__(self) -> None:
        self.batches: list[int] = []

    def transcribe(self, audio: np.ndarray, vocabulary: str | None = None) -> Transcript:
        return self.transcribe_many([audio], [vocabulary])[0]

    def transcribe_many(
        self, audios: Sequence[np.ndarray], vocabularies: Sequence[str | None] | None = None
    ) -> list[Transcript]:
        self.batches.append(len(audios))
        return [Transcript(WORRIED, "en", a.size / 16_000, "fake") for a in audios]


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> BatchEngine:
    fake = BatchEngine()
    monkeypatch.setattr(pipeline, "get_engine", lambda settings: fake)
    return fake


def comment(simulator: CallerSimulator, survey_url: str, status_url: str, caller: str) -> int:
    """A survey call from ``caller`` that leaves a comment; returns its recording's id."""
    call = simulator.call(survey_url, from_=caller, to="+15005550006", status_callback=status_url)
    call.run(
        [
            Press("8#"),
            Press("4"),
            Press("1"),
            Press("1"),
            RecordAudio(AUDIO / "happy.wav"),
            Press("2"),
        ]
    )
    rec = db.session.scalar(
        db.select(Recording).join(CallSession).where(CallSession.call_sid == call.sid)
    )
    assert rec is not None
    return rec.id


def comments(simulator: CallerSimulator, survey_url: str, status_url: str, count: int) -> list[int]:
    return [
        comment(simulator, survey_url, status_url, f"+1415555{2000 + n:04d}") for n in range(count)
    ]


def statuses(ids: list[int]) -> list[RecordingStatus]:
    db.session.expire_all()
    return [db.session.get(Recording, i).status for i in ids]  # type: ignore[union-attr]


def transcription_queue(redis_conn: Redis) -> Any:
    return queues.get_queue(queues.TRANSCRIPTION, redis_conn)


# --- the worker -----------------------------------------------------------------------


def test_recordings_queued_together_are_decoded_in_one_batch(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    engine: BatchEngine,
) -> None:
    """Three comments waiting in the queue reach the engine as one batch of three."""
    ids = comments(simulator, survey_url, status_url, 3)
    worker.run()
    assert engine.batches == [3]
    assert statuses(ids) == [RecordingStatus.ANALYSED] * 3


def test_every_comment_in_a_batch_reaches_the_callback_rules(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    engine: BatchEngine,
) -> None:
    """Each worried caller of the batch gets an urgent callback task, not only the first."""
    comments(simulator, survey_url, status_url, 3)
    worker.run()
    tasks = db.session.scalars(db.select(CallbackTask)).all()
    assert len(tasks) == 3
    assert all(task.priority == int(Priority.URGENT) for task in tasks)


def test_the_batch_size_caps_what_one_job_takes(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    engine: BatchEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With WHISPER_BATCH_SIZE 2, three queued comments are decoded as two and one."""
    monkeypatch.setitem(app.config, "WHISPER_BATCH_SIZE", 2)
    ids = comments(simulator, survey_url, status_url, 3)
    worker.run()
    assert engine.batches == [2, 1]
    assert statuses(ids) == [RecordingStatus.ANALYSED] * 3


def test_a_recording_taken_into_a_batch_leaves_the_queue_for_good(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str, redis_conn: Redis
) -> None:
    """A waiting job goes to exactly one batch: a second taker finds nothing, RQ forgets it."""
    ids = comments(simulator, survey_url, status_url, 2)
    job_ids = transcription_queue(redis_conn).get_job_ids()
    assert batching.take_queued("recording-batch:a", limit=5) == ids
    assert batching.take_queued("recording-batch:b", limit=5) == []
    assert transcription_queue(redis_conn).count == 0
    assert Job.fetch_many(job_ids, connection=redis_conn) == [None, None]
    assert [int(i) for i in redis_conn.lrange("recording-batch:a", 0, -1)] == ids


def test_other_jobs_in_the_queue_are_not_taken(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str, redis_conn: Redis
) -> None:
    """Only recording jobs join a batch; anything else waits for its own turn."""
    other = transcription_queue(redis_conn).enqueue("workers.jobs.sweep_recordings")
    [recording_id] = comments(simulator, survey_url, status_url, 1)
    assert batching.take_queued("recording-batch:a", limit=5) == [recording_id]
    assert transcription_queue(redis_conn).get_job_ids() == [other.id]


def test_a_recording_queued_during_the_wait_joins_the_batch(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str, redis_conn: Redis
) -> None:
    """Within the wait, a job enqueued a moment later is still taken, without waiting out."""
    [recording_id] = comments(simulator, survey_url, status_url, 1)
    job_id = transcription_queue(redis_conn).get_job_ids()[0]
    job = Job.fetch(job_id, connection=redis_conn)
    transcription_queue(redis_conn).remove(job_id)
    late = threading.Timer(0.2, lambda: transcription_queue(redis_conn).enqueue_job(job))
    late.start()
    started = time.monotonic()
    taken = batching.take_queued("recording-batch:a", limit=1, wait_seconds=5.0)
    late.join()
    assert taken == [recording_id]
    assert time.monotonic() - started < 2.0


def test_a_retried_job_finishes_the_batch_its_first_run_took(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    engine: BatchEngine,
    redis_conn: Redis,
) -> None:
    """Members a crashed run had taken are finished by the retry, then the list is dropped."""
    ids = comments(simulator, survey_url, status_url, 3)
    queue = transcription_queue(redis_conn)
    leader = queue.get_job_ids()[0]
    # A first run dequeued the leader, took the others, and died; RQ's retry re-enqueues it.
    queue.remove(leader)
    assert batching.take_queued(batching.batch_key(leader), limit=2) == ids[1:]
    queue.push_job_id(leader)
    worker.run()
    assert statuses(ids) == [RecordingStatus.ANALYSED] * 3
    assert engine.batches == [3]
    assert not redis_conn.exists(batching.batch_key(leader))


def test_a_batch_that_fails_keeps_its_members_for_the_retry(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    engine: BatchEngine,
    redis_conn: Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A member whose reading fails fails the job; its batch list stays for the retry."""
    ids = comments(simulator, survey_url, status_url, 2)
    leader = transcription_queue(redis_conn).get_job_ids()[0]
    analyse = pipeline.analyse

    def flaky(rec: Recording) -> None:
        if rec.id == ids[1]:
            raise RuntimeError("database went away")
        analyse(rec)

    monkeypatch.setattr(pipeline, "analyse", flaky)
    worker.run()
    assert statuses(ids) == [RecordingStatus.ANALYSED, RecordingStatus.TRANSCRIBED]
    assert [int(i) for i in redis_conn.lrange(batching.batch_key(leader), 0, -1)] == ids[1:]


def test_a_direct_call_processes_only_its_own_recording(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    engine: BatchEngine,
    redis_conn: Redis,
) -> None:
    """Outside a worker's job nothing is taken from the queue."""
    ids = comments(simulator, survey_url, status_url, 2)
    rec = batching.process_with_queued(ids[0])
    assert rec is not None and rec.status is RecordingStatus.ANALYSED
    assert engine.batches == [1]
    assert transcription_queue(redis_conn).count == 2


# --- the engine on real audio ---------------------------------------------------------


def test_clips_go_into_the_shortest_window_that_holds_them() -> None:
    """A clip and a second of room: 10 s windows at least, then 5 s steps up to 30 s."""
    options = short_clips.DecodeOptions()
    seconds = {
        length: short_clips.encoder_frames(int(length * 16_000), options) / 100
        for length in (0.5, 8.9, 9.1, 13.9, 28.5, 29.5, 30.0)
    }
    assert seconds == {0.5: 10, 8.9: 10, 9.1: 15, 13.9: 15, 28.5: 30, 29.5: 30, 30.0: 30}
    assert not short_clips.fits(30 * 16_000 + 1, options)


@pytest.mark.slow
def test_a_batch_gives_each_clip_the_text_it_gets_alone(
    faster_engine: Engine, clips: dict[str, np.ndarray], manifest: dict[str, Any]
) -> None:
    """transcribe_many keeps the order, and speech and silence mixed come back as alone."""
    names = [*manifest["speech"], *manifest["empty"]]
    together = faster_engine.transcribe_many([clips[name] for name in names])
    alone = [faster_engine.transcribe(clips[name]) for name in names]
    assert [t.text for t in together] == [t.text for t in alone]
    assert [t.text for t in together[-len(manifest["empty"]) :]] == [""] * len(manifest["empty"])


@pytest.mark.slow
def test_a_full_window_decodes_exactly_as_faster_whispers_own_transcribe(
    faster_engine: FasterWhisperEngine,
    clips: dict[str, np.ndarray],
    manifest: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With 30 s windows the batched decoder gives the library's text, word for word."""
    monkeypatch.setattr(short_clips, "WINDOW_SECONDS", (30,))
    options = {**faster_engine._options, "without_timestamps": True}
    for name in manifest["speech"]:
        segments, _ = faster_engine.model.transcribe(clips[name], vad_filter=False, **options)
        library = " ".join(s.text.strip() for s in segments)
        assert faster_engine.transcribe(clips[name]).text == library, name


@pytest.mark.slow
def test_a_short_question_is_heard_once(
    faster_engine: Engine, clips: dict[str, np.ndarray]
) -> None:
    """A 4 s comment is not repeated, as Whisper does when the window is cut to the clip."""
    audio = clips["call_me.wav"]
    question = np.concatenate([audio[: int(3.3 * 16_000)], audio[-16_000:]])
    text = faster_engine.transcribe(question).text.lower()
    assert text.count("afternoon") == 1, text
    assert text.startswith("can someone call me"), text


class Scripted:
    """The CTranslate2 model, noting each generate call; temperature 0 can be made to loop."""

    def __init__(self, real: Any, loop_at_zero: list[int] | None = None) -> None:
        self.real = real
        self.loop_at_zero = loop_at_zero
        self.calls: list[tuple[float, list[list[int]]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def generate(self, features: Any, prompts: list[list[int]], **options: Any) -> Any:
        temperature = float(options.get("sampling_temperature", 0.0))
        self.calls.append((temperature, [list(p) for p in prompts]))
        if temperature == 0.0 and self.loop_at_zero is not None:
            loop = SimpleNamespace(sequences_ids=[self.loop_at_zero], scores=[-0.05])
            return [SimpleNamespace(**vars(loop), no_speech_prob=0.01) for _ in prompts]
        return self.real.generate(features, prompts, **options)


@pytest.fixture
def scripted_engine() -> FasterWhisperEngine:
    """A fresh engine (not the shared one) whose model calls can be scripted and seen."""
    engine = FasterWhisperEngine(EngineSettings())
    engine.model.model = Scripted(engine.model.model)
    return engine


@pytest.mark.slow
def test_a_repetition_loop_is_decoded_again_at_a_higher_temperature(
    scripted_engine: FasterWhisperEngine, clips: dict[str, np.ndarray]
) -> None:
    """A temperature-0 result that loops is replaced by the next temperature's decode."""
    scripted = scripted_engine.model.model
    scripted.loop_at_zero = scripted_engine.model.hf_tokenizer.encode(" no no" * 40).ids
    transcript = scripted_engine.transcribe_many([clips["anxious.wav"], clips["happy.wav"]])
    assert [t for t, _ in scripted.calls] == [0.0, 0.2]
    assert len(scripted.calls[1][1]) == 2  # both clips retried together
    assert "worried" in transcript[0].text.lower() and "no no no" not in transcript[0].text
    assert "agent" in transcript[1].text.lower()


@pytest.mark.slow
def test_each_clip_of_a_batch_is_prompted_with_its_own_vocabulary(
    scripted_engine: FasterWhisperEngine, clips: dict[str, np.ndarray]
) -> None:
    """Comments of two surveys decoded together each carry their own glossary, or none."""
    scripted = scripted_engine.model.model
    vocabularies = ["FibreMax, Zentra", None, "FibreMax, Zentra", "bill"]
    names = ["anxious.wav", "angry.wav", "happy.wav", "delivery.wav"]  # all in 15 s windows
    scripted_engine.transcribe_many([clips[n] for n in names], vocabularies)
    tokenizer = scripted_engine.model.hf_tokenizer
    prompts = [tokenizer.decode(p).strip() for _, ps in scripted.calls for p in ps]
    assert sorted(prompts) == sorted(f"Glossary: {v}." if v else "" for v in vocabularies), prompts
    assert len(scripted.calls) == 3  # the two clips with one glossary shared a batch
