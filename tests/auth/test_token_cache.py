"""The cache of tokens verified lately: what a revocation, here or elsewhere, does to it."""

from __future__ import annotations

from datetime import timedelta

from asyncgate.auth.dependencies import TokenCache
from asyncgate.auth.principal import Principal
from asyncgate.auth.roles import Role
from tests.support.clock import ManualClock


def principal(client_id: str) -> Principal:
    return Principal(tenant_id="t" * 32, role=Role.TENANT_ADMINISTRATOR, client_id=client_id)


def put(cache: TokenCache, token: str, client_id: str, generation: int | None = None) -> None:
    expires = cache.clock.now() + timedelta(hours=1)
    cache.put(
        token,
        principal(client_id),
        expires,
        cache.generation if generation is None else generation,
    )


def watched_cache(clock: ManualClock, serial: int = 0) -> TokenCache:
    """A cache whose watch has just looked and found ``serial``."""
    cache = TokenCache(clock)
    cache.watch_begins()
    cache.revocations_seen(serial, clock.monotonic())
    return cache


class TestRevokedHere:
    def test_a_revoked_clients_tokens_are_dropped_and_others_kept(self):
        cache = TokenCache(ManualClock())
        put(cache, "revoked-token", "revoked")
        put(cache, "kept-token", "kept")

        cache.forget_client("revoked")

        assert cache.get("revoked-token") is None
        assert cache.get("kept-token") == principal("kept")

    def test_a_lookup_that_raced_the_revocation_is_not_cached(self):
        cache = TokenCache(ManualClock())
        cache.forget_client("revoked")

        # Its lookup read the client before the revocation committed.
        put(cache, "late-token", "revoked")

        assert cache.get("late-token") is None


class TestRevokedElsewhere:
    def test_a_new_serial_drops_every_token(self):
        clock = ManualClock()
        cache = watched_cache(clock, serial=7)
        put(cache, "revoked-token", "revoked")
        put(cache, "other-token", "other")

        cache.revocations_seen(8, clock.monotonic())

        assert cache.get("revoked-token") is None
        assert cache.get("other-token") is None

    def test_the_same_serial_keeps_every_token(self):
        clock = ManualClock()
        cache = watched_cache(clock, serial=7)
        put(cache, "token", "client")

        clock.advance(0.5)
        cache.revocations_seen(7, clock.monotonic())

        assert cache.get("token") == principal("client")

    def test_a_lookup_begun_before_a_new_serial_was_seen_is_not_kept(self):
        clock = ManualClock()
        cache = watched_cache(clock, serial=7)
        generation = cache.generation  # the lookup begins, and reads the token as valid
        cache.revocations_seen(8, clock.monotonic())  # the watch sees its client revoked

        put(cache, "late-token", "revoked", generation)

        assert cache.get("late-token") is None

    def test_a_lookup_begun_after_the_new_serial_was_seen_is_kept(self):
        clock = ManualClock()
        cache = watched_cache(clock, serial=7)
        cache.revocations_seen(8, clock.monotonic())

        put(cache, "token", "client")

        assert cache.get("token") == principal("client")


class TestTrust:
    def test_a_watched_cache_answers_nothing_before_its_first_look(self):
        clock = ManualClock()
        cache = TokenCache(clock)
        cache.watch_begins()

        put(cache, "token", "client")

        assert cache.get("token") is None

    def test_tokens_are_answered_for_a_second_after_the_last_look_began(self):
        clock = ManualClock()
        cache = watched_cache(clock)
        put(cache, "token", "client")

        clock.advance(0.99)
        assert cache.get("token") == principal("client")

        clock.advance(0.01)
        assert cache.get("token") is None  # the watch fell behind: looked up instead

        cache.revocations_seen(0, clock.monotonic())  # a late look, with nothing new
        assert cache.get("token") == principal("client")

    def test_trust_runs_from_when_the_look_began_not_when_it_ended(self):
        clock = ManualClock()
        cache = watched_cache(clock)
        put(cache, "token", "client")
        began = clock.monotonic()

        clock.advance(0.8)  # a slow read
        cache.revocations_seen(0, began)
        clock.advance(0.2)

        assert cache.get("token") is None

    def test_an_unwatched_cache_answers_for_its_ttl(self):
        clock = ManualClock()
        cache = TokenCache(clock, ttl=30)
        put(cache, "token", "client")

        clock.advance(29.9)
        assert cache.get("token") == principal("client")

        clock.advance(0.1)
        assert cache.get("token") is None
