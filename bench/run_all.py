"""`make bench`: run every benchmark in turn, each in its own process, and print its figures."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
BENCHES = [
    "analysis_bench.py",  # comments, held-out: learned reader vs 1.2 word list; latency, RSS
    "answers_bench.py",  # spoken answers on held-out replies: new reader vs old word lists
    "transcription_bench.py",  # Whisper engines vs plain openai-whisper: RTF, WER, RSS
    "vocabulary_bench.py",  # Whisper with a survey's vocabulary: WER, key-term recall, noise
    "pipeline_bench.py",  # worker: warm model, callback -> analysed -> urgent task
    "callbacks_bench.py",  # hang-up -> callback task visible in the API
    "themes_bench.py",  # themes: held-out ARI/purity vs TF-IDF; 10k recompute and embedding
    "recovery_bench.py",  # worker SIGKILLed mid-job -> job finished by another worker
    "isolation_bench.py",  # Call now and anxious comments behind 30 queued recordings
    "throughput_bench.py",  # recordings/minute: 1 and 2 transcribers, threads, batching
    "webhook_bench.py",  # survey start/answer vs bare Flask under gunicorn, SQLite + PostgreSQL
    "webhook_cpu.py",  # the same turns' CPU per request in-process, next to bare Flask
]


def main() -> int:
    failed = []
    for name in BENCHES:
        path = ROOT / name
        if not path.exists():
            continue
        print(f"\n######## {name}", flush=True)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(path)], cwd=ROOT.parent, check=False)
        print(f"######## {name}: exit {result.returncode} in {time.perf_counter() - started:.0f} s")
        if result.returncode:
            failed.append(name)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
