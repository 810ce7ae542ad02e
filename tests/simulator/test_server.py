"""``python -m simulator.server`` serves the fake with the documented dev credentials."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from core.twilio_rest import make_client
from simulator.server import DEV_ACCOUNT_SID, DEV_AUTH_TOKEN


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_server_serves_fake_with_dev_credentials():
    """The module starts a server answering the twilio library with the dev credentials."""
    port = _free_port()
    repo = Path(__file__).resolve().parents[2]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(repo)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator.server", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{base_url}/_fake/calls", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        client = make_client(DEV_ACCOUNT_SID, DEV_AUTH_TOKEN, base_url)
        assert client.calls.list() == []
    finally:
        proc.terminate()
        proc.wait(timeout=5)
