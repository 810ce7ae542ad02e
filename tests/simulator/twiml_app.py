"""A tiny TwiML app for simulator tests: serves documents set by the test, logs requests."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask, Response, request


@dataclass
class Received:
    """One request the app received."""

    method: str
    path: str
    url: str
    form: dict[str, list[str]]
    args: dict[str, str]
    signature: str

    def value(self, name: str) -> str | None:
        """A parameter from the body or the query string."""
        values = self.form.get(name)
        return values[0] if values else self.args.get(name)


@dataclass
class TwimlApp:
    """Documents by path (``"/voice"`` -> TwiML), and every request received in order."""

    documents: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)

    def to(self, path: str) -> list[Received]:
        """Requests received on one path."""
        return [r for r in self.received if r.path == path]

    def paths(self) -> list[str]:
        """Paths requested, in order."""
        return [r.path for r in self.received]


def twiml(*verbs: str) -> str:
    """Wrap verbs in a ``<Response>`` document."""
    return '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(verbs) + "</Response>"


def create_twiml_app(state: TwimlApp) -> Flask:
    """Flask app answering any path with ``state.documents[path]`` (or an empty Response)."""
    app = Flask(__name__)

    @app.route("/<path:path>", methods=["GET", "POST"])
    def any_path(path: str) -> Response:
        state.received.append(
            Received(
                method=request.method,
                path="/" + path,
                url=request.url,
                form={k: request.form.getlist(k) for k in request.form},
                args=dict(request.args),
                signature=request.headers.get("X-Twilio-Signature", ""),
            )
        )
        status = state.statuses.get("/" + path, 200)
        body = state.documents.get("/" + path, twiml())
        return Response(body, status=status, mimetype="text/xml")

    return app
