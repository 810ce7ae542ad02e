"""A phone that texts: sends texts to the company number and reads what it is sent.

:class:`TextingPhone` works against a :class:`~simulator.messages.MessageBox` in this
process (tests) or a fake Twilio over HTTP (``make text``, another process); either way the
text reaches the app through the fake, signed like Twilio's. :func:`run_terminal_text` is
the terminal loop a person uses to take a text survey by hand.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

import requests

from simulator.messages import FakeMessage, MessageBox

__all__ = ["Received", "TextingPhone", "run_terminal_text"]

HELP = (
    "type a reply and press Enter; /consent gives permission to text, /survey [slug] asks "
    "for a text survey, /quit leaves"
)


@dataclass(frozen=True)
class Received:
    """A text the phone got."""

    sid: str
    body: str


class TextingPhone:
    """The phone at ``number``, texting ``company``.

    Args:
        box: the fake's message box, when it runs in this process.
        fake_url: the fake Twilio's base URL, when it runs elsewhere.
        sms_url: the app's incoming-text URL (default: the box's own setting).
    """

    def __init__(
        self,
        number: str,
        company: str,
        *,
        box: MessageBox | None = None,
        fake_url: str | None = None,
        sms_url: str | None = None,
        timeout: float = 20.0,
    ) -> None:
        if (box is None) == (fake_url is None):
            raise ValueError("give the message box or the fake Twilio's URL, not both")
        self.number, self.company = number, company
        self.box, self.fake_url, self.sms_url = box, fake_url, sms_url
        self.timeout = timeout
        self._seen: set[str] = set()

    def send(self, body: str) -> list[str]:
        """Text ``body``; returns the replies that came straight back."""
        if self.box is not None:
            return self.box.receive(from_=self.number, to=self.company, body=body, url=self.sms_url)
        assert self.fake_url is not None
        answer = requests.post(
            f"{self.fake_url}/_fake/sms",
            json={"from": self.number, "to": self.company, "body": body, "url": self.sms_url},
            timeout=self.timeout,
        )
        answer.raise_for_status()
        return [str(text) for text in answer.json()["replies"]]

    def inbox(self) -> list[Received]:
        """Every text the phone has been sent, oldest first."""
        if self.box is not None:
            found = [_received(m) for m in self.box.all() if self._to_me(m.to, m.direction)]
            return found
        assert self.fake_url is not None
        answer = requests.get(f"{self.fake_url}/_fake/messages", timeout=self.timeout)
        answer.raise_for_status()
        return [
            Received(str(m["sid"]), str(m["body"]))
            for m in answer.json()["messages"]
            if self._to_me(str(m["to"]), str(m["direction"]))
        ]

    def new(self) -> list[Received]:
        """Texts not returned by an earlier call of ``new``."""
        fresh = [m for m in self.inbox() if m.sid not in self._seen]
        self._seen.update(m.sid for m in fresh)
        return fresh

    def _to_me(self, to: str, direction: str) -> bool:
        return to == self.number and direction != "inbound"


def _received(message: FakeMessage) -> Received:
    return Received(message.sid, message.body)


Command = Callable[[str], str]


def run_terminal_text(
    phone: TextingPhone,
    *,
    commands: dict[str, Command] | None = None,
    script: Sequence[str] | None = None,
    input: TextIO = sys.stdin,
    output: TextIO = sys.stdout,
) -> list[str]:
    """Text from the terminal: each line is a text, each text the phone gets is printed.

    ``commands`` are the ``/name argument`` lines the caller of this loop offers (permission,
    asking for a survey); ``script`` replaces the terminal with these lines. Returns every
    text the phone got.
    """
    commands = commands or {}
    got: list[str] = []
    print(f"Texting {phone.company} from {phone.number}. {HELP}", file=output)
    pending = list(script) if script is not None else None
    _show(phone, got, output)
    while True:
        if pending is not None:
            if not pending:
                break
            line = pending.pop(0)
            print(f"> {line}", file=output)
        else:
            print("> ", end="", file=output, flush=True)
            line = input.readline()
            if not line:
                break
        line = line.strip()
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        name, _, argument = line.partition(" ")
        if name.startswith("/") and name[1:] in commands:
            print(f"  [{commands[name[1:]](argument.strip())}]", file=output)
        elif name.startswith("/"):
            print(f"  [unknown command; {HELP}]", file=output)
        else:
            phone.send(line)
        _show(phone, got, output)
    return got


def _show(phone: TextingPhone, got: list[str], output: TextIO) -> None:
    for message in phone.new():
        got.append(message.body)
        print(f"  < {message.body}", file=output)
