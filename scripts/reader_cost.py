"""What reading a comment costs in a worker: ``python scripts/reader_cost.py [--model PATH]``.

Loads Whisper (the bundled tiny.en, as a worker's preload does) and the comment reader in one
process, then reads training comments back to back (default: 300 of them, spread over every
author's file) and prints the time per comment (p50 / p95 / max) and the process's resident
memory. Training text only: nothing under ``data/heldout`` is read.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from transcription.comment_model import MODEL_PATH, get_model  # noqa: E402
from transcription.engines import EngineSettings, get_engine, warm_up  # noqa: E402
from transcription.reader import read_comment  # noqa: E402


def rss_mb() -> tuple[float, float]:
    """Resident memory now and at its peak, in MB."""
    status = Path("/proc/self/status").read_text()
    now = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    return now / 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=MODEL_PATH)
    parser.add_argument("--comments", type=int, default=300)
    args = parser.parse_args()

    texts = [
        json.loads(line)["text"]
        for path in sorted((ROOT / "data" / "train").glob("*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    texts = texts[:: max(1, len(texts) // args.comments)][: args.comments]
    warm_up(get_engine(EngineSettings()))
    model = get_model(args.model)
    read_comment("warm-up: I'm worried about my bill, please call me back", model=model)
    took = []
    for text in texts:
        start = time.perf_counter()
        read_comment(text, model=model)
        took.append((time.perf_counter() - start) * 1000)
    now, peak = rss_mb()
    p50, p95 = np.percentile(took, [50, 95])
    print(
        f"reader {model.version} ({args.model.name}), {len(took)} comments: "
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(took):.1f} ms; "
        f"RSS {now:.0f} MB (peak {peak:.0f} MB) with Whisper"
    )


if __name__ == "__main__":
    main()
