"""The fake Twilio lists recordings (all, or one call's) the way the twilio library reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from twilio.base.exceptions import TwilioException

from core.twilio_rest import make_client
from simulator.fake_twilio import FakeTwilio
from tests.simulator.conftest import ACCOUNT_SID, AUTH_TOKEN

CALL = "CA" + "3" * 32
OTHER_CALL = "CA" + "4" * 32


@pytest.fixture
def client(fake_url: str) -> Any:
    return make_client(ACCOUNT_SID, AUTH_TOKEN, fake_url)


def store(fake: FakeTwilio, call_sid: str, wav: bytes, minutes_ago: int) -> str:
    sid, _, _ = fake.store(ACCOUNT_SID, call_sid, wav)
    fake.recordings[sid].date_created = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return sid


def test_recordings_of_a_call_newest_first(client: Any, fake: FakeTwilio, wav: bytes) -> None:
    """recordings.list(call_sid=...) gives that call's recordings only, newest first."""
    older = store(fake, CALL, wav, minutes_ago=5)
    newer = store(fake, CALL, wav, minutes_ago=1)
    store(fake, OTHER_CALL, wav, minutes_ago=2)
    listed = client.recordings.list(call_sid=CALL)
    assert [r.sid for r in listed] == [newer, older]
    assert {r.call_sid for r in listed} == {CALL}
    assert listed[0].status == "completed" and listed[0].duration == "2"
    assert listed[0].media_url.endswith(f"/Recordings/{newer}")


def test_call_subresource_lists_the_same(client: Any, fake: FakeTwilio, wav: bytes) -> None:
    """calls(sid).recordings.list() reaches /Calls/<sid>/Recordings.json with the same answer."""
    sid = store(fake, CALL, wav, minutes_ago=1)
    store(fake, OTHER_CALL, wav, minutes_ago=1)
    assert [r.sid for r in client.calls(CALL).recordings.list()] == [sid]


def test_unfiltered_list_and_unknown_call(client: Any, fake: FakeTwilio, wav: bytes) -> None:
    """Without a filter every recording is listed; a call with none lists nothing."""
    sids = {store(fake, CALL, wav, 1), store(fake, OTHER_CALL, wav, 2)}
    assert {r.sid for r in client.recordings.list()} == sids
    assert client.recordings.list(call_sid="CA" + "9" * 32) == []


def test_deleted_recordings_are_not_listed(client: Any, fake: FakeTwilio, wav: bytes) -> None:
    """A recording deleted through the API is gone from the list."""
    sid = store(fake, CALL, wav, minutes_ago=1)
    client.recordings(sid).delete()
    assert client.recordings.list(call_sid=CALL) == []


def test_status_set_by_a_test_is_reported(client: Any, fake: FakeTwilio, wav: bytes) -> None:
    """A recording still processing on Twilio is listed with that status."""
    sid = store(fake, CALL, wav, minutes_ago=1)
    fake.recordings[sid].status = "processing"
    assert [r.status for r in client.recordings.list(call_sid=CALL)] == ["processing"]


def test_listing_needs_the_account_credentials(fake_url: str, fake: FakeTwilio) -> None:
    """Wrong credentials get Twilio's 401, as for every other resource."""
    intruder = make_client(ACCOUNT_SID, "wrong-token", fake_url)
    # The library reports a refused list page as a TwilioException carrying the response.
    with pytest.raises(TwilioException, match="HTTP 401"):
        intruder.recordings.list(call_sid=CALL)
