"""What an answer (or the lack of one) means: success, retries, failures, and the URL guard
at send time."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest
import trustme
from sqlalchemy import update

from asyncgate.notifications.callout_client import RESPONSE_CONTENT_LIMIT
from asyncgate.notifications.models import Callout, DeliveryState
from asyncgate.notifications.urls import CalloutUrlRules, vet_callout_url
from asyncgate.secretbox import SecretBox
from tests.notifications.api import CALLOUT_SETTINGS, DEFINITIONS
from tests.notifications.delivery.support import (
    RECEIVER_NAME,
    attempts_of,
    define,
    deliver,
    deliveries_of,
    publish,
)
from tests.support.live_server import free_port
from tests.support.receiver import Receiver, Reply

PUBLIC = ipaddress.ip_address("93.184.215.14")
LOOPBACK = ipaddress.ip_address("127.0.0.1")
INTERVAL = timedelta(minutes=30)  # between attempts, for tenants that did not choose
# Longer than that interval, shorter than the longest a tenant may choose (1440 minutes).
RETRY_AFTER_SECONDS = 2 * 3600


async def set_callout_settings(client, tenant, **fields) -> None:
    response = await client.put(CALLOUT_SETTINGS, json=fields, headers=tenant.headers)
    assert response.status_code == 200, response.text


def outcomes(attempts) -> list[tuple[int, bool, int | None, str | None]]:
    return [(a.attempt, a.succeeded, a.response_code, a.error_class) for a in attempts]


class TestRetries:
    async def test_a_receiver_that_fails_twice_then_succeeds_gets_three_attempts(
        self, client, tenant, database, clock, sender, receiver
    ):
        path = receiver.new_path()
        receiver.script(path, Reply(500), Reply(502))
        await define(client, tenant, receiver.url(path))
        await publish(database, tenant)

        # Each failed attempt is followed by another once the tenant's interval has passed.
        for _ in range(2):
            assert await sender.run_once() == 1
            (delivery,) = await deliveries_of(database, tenant)
            assert delivery.state == DeliveryState.PENDING
            assert delivery.next_attempt_at == clock.now() + INTERVAL
            clock.advance(INTERVAL - timedelta(seconds=1))
            assert await sender.run_once() == 0
            clock.advance(timedelta(seconds=1))
        assert await sender.run_once() == 1

        (delivery,) = await deliveries_of(database, tenant)
        assert (delivery.state, delivery.attempts) == (DeliveryState.DELIVERED, 3)
        assert outcomes(await attempts_of(database, tenant)) == [
            (1, False, 500, "http_status"),
            (2, False, 502, "http_status"),
            (3, True, 200, None),
        ]
        assert len(receiver.wait_for(path, 3)) == 3

    async def test_a_receiver_that_is_down_fails_after_the_maximum_then_a_resend_delivers(
        self, client, tenant, database, sender, tls_ca
    ):
        await set_callout_settings(client, tenant, maxAttempts=2, minIntervalMinutes=1)
        port = free_port()  # nothing listens there yet
        down = Receiver("127.0.0.1", port, tls_ca.issue_cert("127.0.0.1"))
        path = down.new_path()
        await define(client, tenant, down.url(path))
        await publish(database, tenant)

        (delivery,) = await deliver(sender, database, tenant)

        assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, 2)
        failed = await attempts_of(database, tenant)
        assert outcomes(failed) == [
            (1, False, None, "connect_error"),
            (2, False, None, "connect_error"),
        ]
        assert delivery.last_error.startswith("connect_error: ")
        with down:
            resent = await client.post(
                "/notifications/callout-histories/resend",
                json=[failed[-1].id],
                headers=tenant.headers,
            )
            assert (resent.status_code, resent.json()) == (202, {})
            (delivery,) = await deliver(sender, database, tenant)
            (arrival,) = down.wait_for(path, 1)

        assert (delivery.state, delivery.attempts) == (DeliveryState.DELIVERED, 3)
        assert arrival.headers["zuora-notification-id"] == delivery.id
        assert outcomes(await attempts_of(database, tenant))[-1] == (3, True, 200, None)

    async def test_without_callout_retry_one_failure_is_final(
        self, client, tenant, database, sender, receiver
    ):
        path = receiver.new_path()
        receiver.script(path, Reply(500))
        await define(client, tenant, receiver.url(path), calloutRetry=False)
        await publish(database, tenant)

        (delivery,) = await deliver(sender, database, tenant)

        assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, 1)
        assert len(receiver.arrivals(path)) == 1

    @pytest.mark.parametrize("status", [429, 503])
    async def test_retry_after_on_429_and_503_defers_the_next_attempt(
        self, client, tenant, database, clock, sender, receiver, status
    ):
        path = receiver.new_path()
        receiver.script(path, Reply(status, b"busy", {"Retry-After": str(RETRY_AFTER_SECONDS)}))
        await define(client, tenant, receiver.url(path))
        await publish(database, tenant)

        await sender.run_once()

        (delivery,) = await deliveries_of(database, tenant)
        assert delivery.state == DeliveryState.PENDING
        assert delivery.next_attempt_at == clock.now() + timedelta(seconds=RETRY_AFTER_SECONDS)

    async def test_retry_after_on_other_statuses_is_ignored(
        self, client, tenant, database, clock, sender, receiver
    ):
        path = receiver.new_path()
        receiver.script(path, Reply(500, b"", {"Retry-After": str(RETRY_AFTER_SECONDS)}))
        await define(client, tenant, receiver.url(path))
        await publish(database, tenant)

        await sender.run_once()

        (delivery,) = await deliveries_of(database, tenant)
        assert delivery.next_attempt_at == clock.now() + INTERVAL


class TestAnswers:
    async def test_a_redirect_is_not_followed(self, client, tenant, database, sender, receiver):
        path, elsewhere = receiver.new_path(), receiver.new_path()
        receiver.script(path, Reply(302, b"", {"Location": receiver.url(elsewhere)}))
        await define(client, tenant, receiver.url(path), calloutRetry=False)
        await publish(database, tenant)

        (delivery,) = await deliver(sender, database, tenant)

        assert delivery.state == DeliveryState.FAILED
        assert outcomes(await attempts_of(database, tenant)) == [(1, False, 302, "http_status")]
        assert receiver.arrivals(elsewhere) == []

    @pytest.mark.parametrize(
        ("status", "content_type", "body", "delivered"),
        [
            (200, "application/json", b'{"success": true}', True),
            (200, "application/json", b'{"success": false}', False),
            (200, "application/json", b'{"status": "ok"}', False),
            (200, "application/json; charset=utf-8", b"OK", False),
            (200, "application/problem+json", b"{}", False),
            # Zuora parses only a 200 with a JSON body.
            (200, "text/plain", b"OK", True),
            (201, "application/json", b'{"success": false}', True),
            (204, "application/json", b"", True),
        ],
    )
    async def test_parsing_a_json_200_needs_success_true(
        self, client, tenant, database, sender, receiver, status, content_type, body, delivered
    ):
        await set_callout_settings(client, tenant, parseResponseContent=True)
        path = receiver.new_path()
        receiver.script(path, Reply(status, body, {"Content-Type": content_type}))
        await define(client, tenant, receiver.url(path), calloutRetry=False)
        await publish(database, tenant)

        (delivery,) = await deliver(sender, database, tenant)

        (attempt,) = await attempts_of(database, tenant)
        assert attempt.succeeded is delivered
        assert attempt.error_class == (None if delivered else "success_not_confirmed")
        assert delivery.state == (DeliveryState.DELIVERED if delivered else DeliveryState.FAILED)

    async def test_without_parsing_any_2xx_is_delivered(
        self, client, tenant, database, sender, receiver
    ):
        path = receiver.new_path()
        receiver.script(path, Reply(204, b"", {}))
        await define(client, tenant, receiver.url(path))
        await publish(database, tenant)

        (delivery,) = await deliver(sender, database, tenant)

        assert delivery.state == DeliveryState.DELIVERED

    async def test_the_answer_is_kept_up_to_60_kb(self, client, tenant, database, sender, receiver):
        path = receiver.new_path()
        receiver.script(path, Reply(200, b"x" * 100_000, {"Content-Type": "text/plain"}))
        await define(client, tenant, receiver.url(path))
        await publish(database, tenant)

        await deliver(sender, database, tenant)

        (attempt,) = await attempts_of(database, tenant)
        assert attempt.response_content == "x" * RESPONSE_CONTENT_LIMIT
        assert RESPONSE_CONTENT_LIMIT == 60 * 1024

    async def test_no_answer_in_time_is_a_timeout(
        self, client, tenant, database, make_sender, receiver
    ):
        sender = make_sender(callout_timeout=timedelta(seconds=0.3))
        path = receiver.new_path()
        receiver.script(path, Reply(200, delay=1.5))
        await define(client, tenant, receiver.url(path), calloutRetry=False)
        await publish(database, tenant)

        await deliver(sender, database, tenant)

        (attempt,) = await attempts_of(database, tenant)
        assert (attempt.succeeded, attempt.error_class) == (False, "timeout")
        assert attempt.duration_ms < 1000

    async def test_a_certificate_of_an_unknown_authority_is_a_tls_error(
        self, client, tenant, database, sender
    ):
        stranger = trustme.CA().issue_cert("127.0.0.1")
        with Receiver("127.0.0.1", 0, stranger) as impostor:
            path = impostor.new_path()
            await define(client, tenant, impostor.url(path), calloutRetry=False)
            await publish(database, tenant)

            await deliver(sender, database, tenant)

        (attempt,) = await attempts_of(database, tenant)
        assert (attempt.error_class, attempt.response_code) == ("tls_error", None)
        assert "certificate" in attempt.error_message.lower()
        assert impostor.arrivals(path) == []


class TestUrlGuardAtSend:
    async def test_a_url_the_rules_now_refuse_is_not_sent(
        self, client, tenant, database, make_sender, receiver
    ):
        path = receiver.new_path()
        await define(client, tenant, receiver.url(path), calloutRetry=False)
        await publish(database, tenant)
        strict = make_sender(callout_allow_private_addresses=False)

        (delivery,) = await deliver(strict, database, tenant)

        assert delivery.state == DeliveryState.FAILED
        (attempt,) = await attempts_of(database, tenant)
        assert attempt.error_class == "unsafe_url"
        assert "127.0.0.1, which is not a public address" in attempt.error_message
        assert receiver.arrivals(path) == []

    async def test_a_name_vetted_at_save_that_now_resolves_privately_is_refused(
        self, client, tenant, database, make_sender, receiver
    ):
        url = f"https://{RECEIVER_NAME}:{receiver.port}/rebound"
        strict = CalloutUrlRules(allow_private_addresses=False, allow_ports=True)
        answers = iter([[PUBLIC], [LOOPBACK]])

        async def rebinding(host, port):
            return next(answers)

        await vet_callout_url(url, strict, rebinding)  # what saving checks: a public address
        await define_with_url(client, database, tenant, receiver, url)
        await publish(database, tenant)
        sender = make_sender(resolve=rebinding, callout_allow_private_addresses=False)

        (delivery,) = await deliver(sender, database, tenant)

        assert delivery.state == DeliveryState.FAILED
        (attempt,) = await attempts_of(database, tenant)
        assert attempt.error_class == "unsafe_url"
        assert receiver.arrivals("/rebound") == []

    async def test_the_sender_connects_to_the_vetted_address_under_the_urls_name(
        self, client, tenant, database, make_sender, receiver
    ):
        # The name resolves nowhere but through the guard: the connection goes where the guard
        # looked, and TLS verifies the certificate for the name.
        path = receiver.new_path()
        url = f"https://{RECEIVER_NAME}:{receiver.port}{path}"
        asked = []

        async def resolve(host, port):
            asked.append(host)
            return [LOOPBACK]

        await define_with_url(client, database, tenant, receiver, url)
        await publish(database, tenant)
        sender = make_sender(resolve=resolve)

        (delivery,) = await deliver(sender, database, tenant)

        assert delivery.state == DeliveryState.DELIVERED
        assert asked == [RECEIVER_NAME]
        (arrival,) = receiver.wait_for(path, 1)
        assert arrival.headers["host"] == f"{RECEIVER_NAME}:{receiver.port}"


class TestUnsendable:
    async def test_secrets_another_key_sealed_fail_the_delivery_unsent(
        self, client, tenant, database, sender, receiver
    ):
        path = receiver.new_path()
        auth = {"username": "receiver", "password": "sealed-with-the-apps-key"}
        await define(client, tenant, receiver.url(path), requiredAuth=True, calloutAuth=auth)
        await publish(database, tenant)
        sender.secret_box = SecretBox("another key than the one that sealed them")

        (delivery,) = await deliver(sender, database, tenant)

        assert delivery.state == DeliveryState.FAILED
        assert "ASYNCGATE_SECRET_KEY" in delivery.last_error
        assert await attempts_of(database, tenant) == []
        assert receiver.arrivals(path) == []

    async def test_a_delivery_whose_definition_was_deactivated_is_dropped_unsent(
        self, client, tenant, database, sender, receiver
    ):
        path = receiver.new_path()
        definition = await define(client, tenant, receiver.url(path))
        await publish(database, tenant)
        response = await client.put(
            f"{DEFINITIONS}/{definition['id']}", json={"active": False}, headers=tenant.headers
        )
        assert response.status_code == 200

        (delivery,) = await deliver(sender, database, tenant)

        assert delivery.state == DeliveryState.FAILED
        assert "deactivated" in delivery.last_error
        assert await attempts_of(database, tenant) == []
        assert receiver.arrivals(path) == []


async def define_with_url(client, database, tenant, receiver, url: str) -> None:
    """A definition whose callout URL is ``url``, a name only the tests' resolvers know: saved
    with the receiver's address, then given the name in the database."""
    definition = await define(client, tenant, receiver.url("/placeholder"), calloutRetry=False)
    async with database.transaction() as session:
        await session.execute(
            update(Callout).where(Callout.definition_id == definition["id"]).values(url=url)
        )
