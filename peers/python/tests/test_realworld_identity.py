"""Whose `X-User-ID` is believed (`UserIdHeader`: off / loopback / any, as the
reference's `identity.rs`), and what a caller's headers name: tokens always
count, the header only where the policy believes the client."""

from __future__ import annotations

import pytest

from bench_shared.errors import ApiError
from bench_shared.realworld import Config
from bench_shared.realworld.accounts import HashCost
from bench_shared.realworld.identity import Caller, UserIdHeader, is_loopback
from bench_shared.realworld.service import Options, Service

CHEAP = Config(hash_cost=HashCost(memory_kib=8, iterations=1, parallelism=1))
LOCAL = ["127.0.0.1", "127.9.8.7", "::1", "::ffff:127.0.0.1"]
REMOTE = ["192.0.2.7", "10.0.0.1", "::ffff:192.0.2.7", "2001:db8::1", "fe80::1%eth0",
          "0.0.0.0", "::"]
NOT_ADDRESSES = ["", "localhost", "127.0.0.1:80", "127.0.0.256", "testclient"]


@pytest.fixture(scope="module")
def accounts():
    return Service(CHEAP, Options(hash_workers=1)).world.accounts


def test_policies_parse_as_the_reference_spells_them() -> None:
    assert [UserIdHeader.parse(t) for t in ("off", "loopback", "any")] == [
        UserIdHeader.OFF, UserIdHeader.LOOPBACK, UserIdHeader.ANY]
    with pytest.raises(ValueError, match="`all` is not off, loopback or any"):
        UserIdHeader.parse("all")
    assert Options().user_id_header is UserIdHeader.LOOPBACK


def test_the_header_is_believed_only_where_the_policy_says() -> None:
    for client in LOCAL:
        assert is_loopback(client), client
        assert UserIdHeader.LOOPBACK.believes(client), client
    for client in REMOTE + NOT_ADDRESSES:
        assert not is_loopback(client), client
        assert not UserIdHeader.LOOPBACK.believes(client), client
    assert not UserIdHeader.LOOPBACK.believes(None)
    for client in LOCAL + REMOTE + [None]:
        assert not UserIdHeader.OFF.believes(client)
        assert UserIdHeader.ANY.believes(client)


def status_of(call) -> tuple[int, str]:
    try:
        call()
    except ApiError as e:
        return e.status, e.code
    return 200, ""


def test_a_remote_user_id_names_nobody_under_loopback(accounts) -> None:
    policy = UserIdHeader.LOOPBACK
    for client in REMOTE + [None]:
        # Not believed: not even read, so a malformed or unknown id is no error.
        for raw in ("7", "abc", "99999999"):
            assert Caller(user_id=raw, client=client).optional_user(accounts, policy) is None
        assert status_of(lambda: Caller(user_id="7", client=client).user(accounts, policy)) == (
            401, "unauthenticated")
    for client in LOCAL:
        assert Caller(user_id="7", client=client).optional_user(accounts, policy).id == 7
        assert Caller(user_id=" +7 ", client=client).optional_user(accounts, policy).id == 7
        assert status_of(lambda: Caller(user_id="abc", client=client).optional_user(
            accounts, policy)) == (400, "invalid_header")
        assert status_of(lambda: Caller(user_id="99999999", client=client).optional_user(
            accounts, policy)) == (401, "unknown_user")
        assert status_of(lambda: Caller(user_id="4294967296", client=client).optional_user(
            accounts, policy)) == (400, "invalid_header")


def test_off_believes_nobody_and_any_believes_everybody(accounts) -> None:
    for client in LOCAL + REMOTE + [None]:
        caller = Caller(user_id="7", client=client)
        assert caller.optional_user(accounts, UserIdHeader.OFF) is None
        assert caller.optional_user(accounts, UserIdHeader.ANY).id == 7


def test_a_token_counts_from_anyone_and_the_header_never_authenticates(accounts) -> None:
    token = accounts.issue(5)["access_token"]
    for client in REMOTE + LOCAL + [None]:
        caller = Caller(authorization=f"Bearer {token}", user_id="7", client=client)
        for policy in UserIdHeader:
            assert caller.optional_user(accounts, policy).id == 5
        assert caller.token_user(accounts).id == 5
        # `me` and comments need a token: the header alone is 401 wherever it comes from.
        assert status_of(lambda: Caller(user_id="7", client=client).token_user(accounts)) == (
            401, "unauthenticated")
    for header in ("Basic dXNlcjpwYXNz", f"Token {token}", "Bearer 1.2.3", "Bearer"):
        assert status_of(lambda: Caller(authorization=header).token_user(accounts)) == (
            401, "invalid_token"), header
    # A header that is not visible ASCII counts as absent, as the reference reads headers.
    assert Caller(authorization="Bearer é").optional_user(accounts, UserIdHeader.ANY) is None
