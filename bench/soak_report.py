"""The soak's verdict and its printed figures (``bench/soak.py``)."""

from __future__ import annotations

from typing import Any

RECOVERY_GOAL_SECONDS = 60


def passed(s: dict[str, Any]) -> bool:
    return bool(
        s["calls_completed"] == s["calls"]
        and s["http_5xx"] == 0
        and s["no_answer"] == 0
        and s["recordings"] == s["calls"]
        and s["recordings_analysed"] == s["calls"]
        and s["downloaded_once"] + s["refetched_after_kill"] == s["calls"]
        and s["refetched_after_kill"] <= 1
        and s["qualifying_with_one_task"] == s["qualifying_callers"]
        and s["others_with_a_task"] == 0
        and s["worker_killed_job"]
        and s["recovery_seconds"] is not None
        and s["recovery_seconds"] < RECOVERY_GOAL_SECONDS
    )


def print_summary(s: dict[str, Any]) -> None:
    lat = s["latency_ms"]
    rows = [
        ("calls completed", f"{s['calls_completed']}/{s['calls']} in {s['calls_seconds']} s"),
        ("webhooks", f"{s['webhooks']} sent, 5xx {s['http_5xx']}, no answer {s['no_answer']}"),
        (
            "webhook latency",
            f"p50 {lat['p50']} ms  p95 {lat['p95']} ms  p99 {lat['p99']} ms  max {lat['max']} ms",
        ),
        (
            "worker SIGKILL",
            f"job {s['worker_killed_job']} finished {s['recovery_seconds']} s after the kill"
            f" (goal < {RECOVERY_GOAL_SECONDS} s)",
        ),
        ("Redis restart", f"unreachable {s['redis_down_seconds']} s"),
        ("watchdog", f"{s['abandoned_jobs_retried']} abandoned job(s) handed to RQ's retry"),
        (
            "recordings",
            f"{s['recordings_analysed']}/{s['calls']} analysed, {s['downloaded_once']} downloaded"
            f" exactly once, {s['refetched_after_kill']} again after the kill interrupted it"
            f" (most downloads of one: {s['downloads_max']})",
        ),
        (
            "callback tasks",
            f"{s['qualifying_with_one_task']}/{s['qualifying_callers']} qualifying callers have"
            f" exactly one; {s['others_with_a_task']}/{s['other_callers']} others have any",
        ),
        (
            "comment reader",
            f"{s['content_callers_flagged_by_reader']}/{s['content_callers']} content callers"
            " flagged (they qualify for a callback by the rules)",
        ),
        ("settled after calls", f"{s['settle_seconds']} s"),
    ]
    for label, value in rows:
        print(f"  {label:<22}{value}")
    for note in s["notes"]:
        print(f"  note: {note}")
    print(f"  {'result':<22}{'PASS' if s['passed'] else 'FAIL'}")
