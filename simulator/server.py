"""Serve the fake Twilio (calls, recordings, texts): ``python -m simulator.server --port 5099``.

Credentials come from ``TWILIO_ACCOUNT_SID`` and ``TWILIO_AUTH_TOKEN``. When unset, the
fake uses fixed development values that only ever work against this fake:

* account SID ``AC00000000000000000000000000000000`` (:data:`DEV_ACCOUNT_SID`)
* auth token ``0123456789abcdef0123456789abcdef`` (:data:`DEV_AUTH_TOKEN`)

Point the app at it with its Twilio API base URL set to ``http://127.0.0.1:5099``.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence

from werkzeug.serving import make_server

from simulator.fake_twilio import FakeTwilio, create_fake_twilio_app

DEV_ACCOUNT_SID = "AC" + "0" * 32
DEV_AUTH_TOKEN = "0123456789abcdef0123456789abcdef"  # noqa: S105 - documented dev-only value

log = logging.getLogger("simulator.server")


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and serve the fake until interrupted."""
    parser = argparse.ArgumentParser(description="Fake Twilio REST API for local use")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5099)
    parser.add_argument(
        "--app-base-url",
        default=os.environ.get("FAKE_TWILIO_APP_BASE_URL"),
        help="deliver webhooks here instead of the host in the given URLs",
    )
    parser.add_argument("--duplicate-callbacks", action="store_true")
    parser.add_argument("--reorder-callbacks", action="store_true")
    args = parser.parse_args(argv)

    # One line per request comes from werkzeug's request log at INFO.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    public_host = "127.0.0.1" if args.host in {"0.0.0.0", "::"} else args.host  # noqa: S104
    fake = FakeTwilio(
        account_sid=os.environ.get("TWILIO_ACCOUNT_SID") or DEV_ACCOUNT_SID,
        auth_token=os.environ.get("TWILIO_AUTH_TOKEN") or DEV_AUTH_TOKEN,
        base_url=f"http://{public_host}:{args.port}",
        app_base_url=args.app_base_url,
        duplicate_callbacks=args.duplicate_callbacks,
        reorder_callbacks=args.reorder_callbacks,
    )
    server = make_server(args.host, args.port, create_fake_twilio_app(fake), threaded=True)
    log.info("fake Twilio for %s at %s", fake.account_sid, fake.base_url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
