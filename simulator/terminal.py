"""Drive a simulated call from a terminal, or from a script without one."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from simulator.actions import Action, HangUp, parse_action, parse_script
from simulator.caller import CallerSimulator
from simulator.results import CallResult, Turn
from simulator.sinks import RecordingSink

__all__ = ["parse_script", "run_terminal_call"]

HELP = "keys (5, 12#), 'say <words>', 'record <file.wav>', empty line = silence, 'hangup'"


def run_terminal_call(
    app_url: str,
    *,
    sink: RecordingSink,
    account_sid: str,
    auth_token: str,
    from_: str,
    to: str,
    script: Sequence[Action] | None = None,
    input: TextIO = sys.stdin,
    output: TextIO = sys.stdout,
    public_base_url: str | None = None,
    status_callback: str | None = None,
) -> CallResult:
    """Call ``app_url``, print what the caller hears, and answer each wait.

    With ``script`` the actions are taken in order (hanging up when they run out);
    without it a line is read from ``input`` each time: see :data:`HELP`.
    """
    simulator = CallerSimulator(
        account_sid=account_sid,
        auth_token=auth_token,
        recordings=sink,
        public_base_url=public_base_url,
    )
    call = simulator.call(app_url, from_=from_, to=to, status_callback=status_callback)
    print(f"Calling {app_url} from {from_} to {to} ({call.sid})", file=output)
    if script is None:
        print(f"Answer with: {HELP}", file=output)
    pending = list(script) if script is not None else None
    turn = call.start()
    while True:
        _show(turn, output)
        if turn.ended:
            break
        if pending is not None:
            action: Action = pending.pop(0) if pending else HangUp()
            print(f"> {_describe(action)}", file=output)
        else:
            action = _ask(input, output)
        turn = call.respond(action)
    result = call.result()
    print(f"Call ended: {result.status}, {result.duration} s", file=output)
    for error in result.errors:
        print(f"! {error}", file=output)
    return result


def _show(turn: Turn, output: TextIO) -> None:
    for text in turn.said:
        print(f"  {text}", file=output)
    if turn.waiting_for == "gather":
        hints = f", hints: {turn.hints}" if turn.hints else ""
        print(f"[waiting for input: {turn.gather_input}{hints}]", file=output)
    elif turn.waiting_for == "record":
        print("[recording: 'record <file.wav>' or empty line for silence]", file=output)


def _ask(source: TextIO, output: TextIO) -> Action:
    while True:
        print("> ", end="", file=output, flush=True)
        line = source.readline()
        if not line:
            return HangUp()  # end of input: the caller hangs up
        try:
            return parse_action(line)
        except ValueError as exc:
            print(f"{exc}; {HELP}", file=output)


def _describe(action: Action) -> str:
    return type(action).__name__ + "".join(
        f" {value}" for value in vars(action).values() if not isinstance(value, bytes)
    )
