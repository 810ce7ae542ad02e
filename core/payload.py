"""Typed JSON request bodies for /api/*: one declaration checks a body and describes it.

A ``Shape`` lists its ``Field``s; ``Shape.parse`` turns a request body into ``Values`` or
raises ``Invalid`` naming the field, and ``Shape.schema`` is the same shape as JSON Schema
for the OpenAPI description, so what the API accepts and what it publishes cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from core.twilio_params import MAX_DB_INT

Kind = Literal["string", "integer", "date-time", "enum", "boolean"]


class Invalid(ValueError):
    """A body that does not match its shape; the message says which field and why."""


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    description: str
    required: bool = False
    nullable: bool = False  # null then means the same as leaving the field out
    max_length: int = 254
    minimum: int = 1
    maximum: int = MAX_DB_INT
    choices: tuple[str, ...] = ()
    example: Any = None

    def parse(self, value: object) -> str | int | datetime:
        if self.kind == "boolean":
            if not isinstance(value, bool):  # 1 and "true" are not booleans in JSON
                raise Invalid(f"{self.name} must be true or false")
            return value
        if self.kind == "integer":
            # bool is an int to Python: {"agent_id": true} must not mean user 1
            if not isinstance(value, int) or isinstance(value, bool):
                raise Invalid(f"{self.name} must be a whole number")
            if not self.minimum <= value <= self.maximum:
                raise Invalid(f"{self.name} must be from {self.minimum} to {self.maximum}")
            return value
        if not isinstance(value, str):
            raise Invalid(f"{self.name} must be a string")
        if self.kind == "date-time":
            return parse_time(self.name, value)
        if self.kind == "enum" and value not in self.choices:
            raise Invalid(f"{self.name} must be one of {', '.join(self.choices)}")
        if len(value) > self.max_length:
            raise Invalid(f"{self.name} must be at most {self.max_length} characters")
        if "\x00" in value:
            raise Invalid(f"{self.name} must not contain NUL characters")
        return value

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"description": self.description}
        if self.kind == "boolean":
            out |= {"type": "boolean"}
        elif self.kind == "integer":
            out |= {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}
        elif self.kind == "date-time":
            out |= {"type": "string", "format": "date-time"}
        elif self.kind == "enum":
            out |= {"type": "string", "enum": list(self.choices)}
        else:
            out |= {"type": "string", "maxLength": self.max_length}
        if self.nullable:
            out["nullable"] = True
        if self.example is not None:
            out["example"] = self.example
        return out


def parse_time(name: str, value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{name} must be an ISO 8601 time like 2030-01-31T09:30:00+00:00") from None
    if at.tzinfo is None:
        raise Invalid(f"{name} must include a UTC offset, e.g. +00:00")
    try:
        return at.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 has no UTC time
        raise Invalid(f"{name} is out of range") from None


@dataclass(frozen=True)
class Values:
    """A parsed body: typed getters, ``None`` for a field left out."""

    data: dict[str, str | int | datetime] = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        value = self.data.get(name)
        return value if isinstance(value, str) else None

    def integer(self, name: str) -> int | None:
        value = self.data.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def flag(self, name: str) -> bool | None:
        value = self.data.get(name)
        return value if isinstance(value, bool) else None

    def time(self, name: str) -> datetime | None:
        value = self.data.get(name)
        return value if isinstance(value, datetime) else None


@dataclass(frozen=True)
class Shape:
    """A JSON object body; ``one_of`` names fields of which at least one must be given."""

    fields: tuple[Field, ...]
    one_of: tuple[str, ...] = ()
    example: dict[str, Any] | None = None

    def parse(self, body: object) -> Values:
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise Invalid("the body must be a JSON object")
        known = {f.name: f for f in self.fields}
        unknown = sorted(set(body) - set(known))
        if unknown:
            raise Invalid(f"unknown field {unknown[0]!r}; expected {', '.join(known)}")
        data: dict[str, str | int | datetime] = {}
        for name, spec in known.items():
            if body.get(name) is not None:
                data[name] = spec.parse(body[name])
            elif name in body and not spec.nullable:
                raise Invalid(f"{name} must not be null")
        missing = [f.name for f in self.fields if f.required and f.name not in data]
        if missing:
            raise Invalid(f"{missing[0]} is required")
        if self.one_of and not any(name in data for name in self.one_of):
            raise Invalid(f"give {' or '.join(self.one_of)}")
        return Values(data)

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "object",
            "additionalProperties": False,
            "properties": {f.name: f.schema() for f in self.fields},
        }
        required = [f.name for f in self.fields if f.required]
        if required:
            out["required"] = required
        if self.one_of:
            out["anyOf"] = [{"required": [name]} for name in self.one_of]
        if self.example is not None:
            out["example"] = self.example
        return out


# The survey a call or a text asks (POST /api/surveys/calls and /api/surveys/texts).
SURVEY_SLUG = Field(
    "survey",
    "string",
    "the survey's slug; the default survey when left out",
    nullable=True,
    max_length=64,  # surveys.slug
    example="post-call",
)
