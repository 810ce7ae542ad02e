"""What a scripted caller does when a call waits for input, and script parsing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Press:
    """Press keys on the keypad (DTMF), e.g. ``Press("5")`` or ``Press("123#")``."""

    digits: str


@dataclass(frozen=True)
class Speak:
    """Say something to a speech-enabled ``<Gather>``."""

    text: str
    confidence: float = 0.92


@dataclass(frozen=True)
class Silent:
    """Say nothing, so the ``<Gather>`` or ``<Record>`` times out."""


@dataclass(frozen=True)
class RecordAudio:
    """Speak into a ``<Record>``.

    Attributes:
        wav: WAV bytes or a path to a WAV file.
        finish_key: key pressed after speaking; ``None`` lets the silence timeout end the
            recording, and ``"hangup"`` hangs up after speaking (Twilio then sends
            ``Digits=hangup``, the same word).
    """

    wav: bytes | str | Path
    finish_key: str | None = "#"

    def wav_bytes(self) -> bytes:
        """Return the audio as WAV bytes, reading the file when given a path."""
        if isinstance(self.wav, bytes):
            return self.wav
        return Path(self.wav).read_bytes()


@dataclass(frozen=True)
class HangUp:
    """Hang up the phone."""


Action = Press | Speak | Silent | RecordAudio | HangUp


def action_from_json(item: dict[str, Any]) -> Action:
    """Build an action from its JSON form, as posted to ``/_fake/scripts``.

    Accepted forms: ``{"press": "5"}``, ``{"speak": "nine", "confidence": 0.8}``,
    ``{"record": "path.wav", "finish_key": "#"}``, ``{"silent": true}``, ``{"hangup": true}``.

    Raises:
        ValueError: if the item matches none of these forms.
    """
    if "press" in item:
        return Press(str(item["press"]))
    if "speak" in item:
        return Speak(str(item["speak"]), float(item.get("confidence", 0.92)))
    if "record" in item:
        return RecordAudio(Path(item["record"]), item.get("finish_key", "#"))
    if item.get("silent"):
        return Silent()
    if item.get("hangup"):
        return HangUp()
    raise ValueError(f"unknown caller action: {item!r}")


def parse_action(text: str) -> Action:
    """Parse one typed or scripted action.

    ``5`` or ``12#`` presses keys, ``say nine`` speaks, ``record c.wav`` or ``record:c.wav``
    records a file, ``hangup`` hangs up, an empty string stays silent.

    Raises:
        ValueError: if the text is none of these.
    """
    text = text.strip()
    lowered = text.lower()
    if not text or lowered in {"silent", "silence"}:
        return Silent()
    if lowered in {"hangup", "hang up"}:
        return HangUp()
    for prefix in ("say ", "say:"):
        if lowered.startswith(prefix):
            return Speak(text[len(prefix) :].strip())
    for prefix in ("record ", "record:"):
        if lowered.startswith(prefix):
            return RecordAudio(Path(text[len(prefix) :].strip()))
    if all(ch in "0123456789*#w" for ch in lowered):
        return Press(text)
    raise ValueError(f"not a caller action: {text!r}")


def parse_script(script: str) -> list[Action]:
    """Parse a comma-separated script such as ``"5,3,say yes,record:c.wav,1"``."""
    return [parse_action(part) for part in script.split(",")]
