"""Test helpers: serve a WSGI app for real on a free loopback port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from werkzeug.serving import make_server


@contextmanager
def serve_app(app: Flask, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` with werkzeug's threaded server on a free port.

    Yields:
        The base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash).
    """
    server = make_server(host, 0, app, threaded=True)
    # A short poll interval makes shutdown() return quickly (the default waits 0.5 s).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="serve_app", daemon=True
    )
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
