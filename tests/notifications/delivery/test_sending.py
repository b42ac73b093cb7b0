"""What a callout sends: the payload, its headers, signatures and basic auth."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import orjson
from standardwebhooks import Webhook

from asyncgate.notifications.models import DeliveryState
from tests.notifications.api import SIGNING_SECRET, cells_containing, get_definition
from tests.notifications.delivery.support import (
    attempts_of,
    define,
    deliver,
    deliveries_of,
    publish,
)
from tests.support.receiver import Reply

PASSWORD = "receiver-password-7f3a"
AUTH = {"username": "receiver", "password": PASSWORD, "domain": "d", "preemptive": True}
SEED_KEYS = ["createTime", "completeTime", "request", "state"]
REQUEST_KEYS = ["id", "method", "url", "trackId"]


async def new_secret(client, tenant) -> str:
    response = await client.post(SIGNING_SECRET, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()["secret"]


class TestPayload:
    async def test_the_body_is_the_seeds_success_payload_as_json(
        self, client, tenant, database, sender, receiver
    ):
        path = receiver.new_path()
        await define(client, tenant, receiver.url(path))
        payload = await publish(database, tenant, track_id="track-7")

        await deliver(sender, database, tenant)

        (arrival,) = receiver.wait_for(path, 1)
        assert arrival.method == "POST"
        assert arrival.body == orjson.dumps(payload)
        sent = orjson.loads(arrival.body)
        assert list(sent) == [*SEED_KEYS, "data"]
        assert list(sent["request"]) == REQUEST_KEYS
        assert sent["state"] == "succeeded" and list(sent["data"]) == ["id"]
        assert sent["request"]["trackId"] == "track-7"

    async def test_a_failure_carries_its_reasons_and_process_id(
        self, client, tenant, database, sender, receiver
    ):
        path = receiver.new_path()
        await define(client, tenant, receiver.url(path), eventTypeName="Async Request Failed")
        await publish(database, tenant, succeeded=False)

        await deliver(sender, database, tenant)

        sent = orjson.loads(receiver.wait_for(path, 1)[0].body)
        assert list(sent) == [*SEED_KEYS, "reasons", "processId"]
        assert sent["state"] == "failed"
        assert sent["reasons"] == [{"code": 50010022, "message": "Missing required field: name"}]
        assert sent["processId"] == "0123456789ABCDEF"

    async def test_callout_params_are_query_parameters_with_merge_fields(
        self, client, tenant, database, sender, receiver
    ):
        path = receiver.new_path()
        await define(
            client,
            tenant,
            receiver.url(path),
            calloutParams={"requestId": "<Request.Id>", "source": "asyncgate"},
        )
        payload = await publish(database, tenant)

        await deliver(sender, database, tenant)

        (arrival,) = receiver.wait_for(path, 1)
        assert arrival.query == {"requestId": [payload["request"]["id"]], "source": ["asyncgate"]}
        (attempt,) = await attempts_of(database, tenant)
        assert attempt.request_url == receiver.url(path) + (
            f"?requestId={payload['request']['id']}&source=asyncgate"
        )

    async def test_get_sends_no_body_and_put_and_delete_do(
        self, client, tenant, database, sender, receiver
    ):
        paths = {method: receiver.new_path() for method in ("GET", "PUT", "DELETE")}
        for method, path in paths.items():
            await define(client, tenant, receiver.url(path), httpMethod=method)
        payload = await publish(database, tenant)

        await deliver(sender, database, tenant)

        (got,) = receiver.wait_for(paths["GET"], 1)
        assert (got.method, got.body, got.headers.get("content-type")) == ("GET", b"", None)
        for method in ("PUT", "DELETE"):
            (arrival,) = receiver.wait_for(paths[method], 1)
            assert (arrival.method, arrival.body) == (method, orjson.dumps(payload))
            assert arrival.headers["content-type"] == "application/json"


class TestHeaders:
    async def test_the_notification_id_is_stable_and_the_request_id_new_per_attempt(
        self, client, tenant, database, sender, receiver
    ):
        path = receiver.new_path()
        receiver.script(path, Reply(500))
        await define(client, tenant, receiver.url(path))
        await publish(database, tenant)

        (delivery,) = await deliver(sender, database, tenant)

        arrivals = receiver.wait_for(path, 2)
        assert [a.headers["zuora-notification-id"] for a in arrivals] == [delivery.id] * 2
        request_ids = [a.headers["zuora-request-id"] for a in arrivals]
        assert len(set(request_ids)) == 2 and all(uuid.UUID(r) for r in request_ids)
        assert {a.headers["content-type"] for a in arrivals} == {"application/json"}

    async def test_without_a_signing_secret_there_are_no_webhook_headers(
        self, client, tenant, database, sender, receiver
    ):
        path = receiver.new_path()
        await define(client, tenant, receiver.url(path))
        await publish(database, tenant)

        await deliver(sender, database, tenant)

        (arrival,) = receiver.wait_for(path, 1)
        assert not {"webhook-id", "webhook-timestamp", "webhook-signature"} & set(arrival.headers)

    async def test_a_signed_callout_verifies_with_the_current_and_the_rotated_out_secret(
        self, client, tenant, database, sender, receiver
    ):
        path = receiver.new_path()
        await define(client, tenant, receiver.url(path))
        old = await new_secret(client, tenant)
        current = await new_secret(client, tenant)
        await publish(database, tenant)

        (delivery,) = await deliver(sender, database, tenant)

        (arrival,) = receiver.wait_for(path, 1)
        assert arrival.headers["webhook-id"] == delivery.id
        assert len(arrival.headers["webhook-signature"].split(" ")) == 2
        for secret in (current, old):
            assert Webhook(secret).verify(arrival.body, arrival.headers)["state"] == "succeeded"

    async def test_a_rotated_out_secret_stops_signing_after_its_grace(
        self, client, tenant, database, settings, clock, sender, receiver
    ):
        path = receiver.new_path()
        await define(client, tenant, receiver.url(path))
        await new_secret(client, tenant)
        current = await new_secret(client, tenant)
        clock.advance(settings.callout_signing_grace + timedelta(minutes=1))  # past it
        await publish(database, tenant)

        await deliver(sender, database, tenant)

        (arrival,) = receiver.wait_for(path, 1)
        assert len(arrival.headers["webhook-signature"].split(" ")) == 1
        Webhook(current).verify(arrival.body, arrival.headers)


class TestBasicAuth:
    async def test_preemptive_auth_sends_credentials_at_once(
        self, client, tenant, database, sender, receiver
    ):
        path = receiver.new_path()
        receiver.require_basic_auth(path, "receiver", PASSWORD)
        await define(client, tenant, receiver.url(path), requiredAuth=True, calloutAuth=AUTH)
        await publish(database, tenant)

        (delivery,) = await deliver(sender, database, tenant)

        assert delivery.state == DeliveryState.DELIVERED
        (arrival,) = receiver.wait_for(path, 1)
        assert arrival.credentials() == ("receiver", PASSWORD)

    async def test_a_challenge_is_answered_once_with_credentials_in_one_attempt(
        self, client, tenant, database, sender, receiver
    ):
        path = receiver.new_path()
        receiver.require_basic_auth(path, "receiver", PASSWORD)
        auth = AUTH | {"preemptive": False}
        await define(client, tenant, receiver.url(path), requiredAuth=True, calloutAuth=auth)
        await publish(database, tenant)

        (delivery,) = await deliver(sender, database, tenant)

        assert delivery.state == DeliveryState.DELIVERED
        first, second = receiver.wait_for(path, 2)
        assert first.credentials() is None
        assert second.credentials() == ("receiver", PASSWORD)
        # Each request sent has an ID of its own, 32 hex characters, as Zuora's.
        ids = [first.headers["zuora-request-id"], second.headers["zuora-request-id"]]
        assert ids[0] != ids[1]
        assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in ids)
        assert [(a.attempt, a.response_code) for a in await attempts_of(database, tenant)] == [
            (1, 200)
        ]

    async def test_a_401_without_a_challenge_is_a_failed_attempt(
        self, client, tenant, database, sender, receiver
    ):
        path = receiver.new_path()
        receiver.script(path, Reply(401, b"no", {}))
        auth = AUTH | {"preemptive": False}
        await define(
            client,
            tenant,
            receiver.url(path),
            requiredAuth=True,
            calloutAuth=auth,
            calloutRetry=False,
        )
        await publish(database, tenant)

        (delivery,) = await deliver(sender, database, tenant)

        assert delivery.state == DeliveryState.FAILED
        assert [a.credentials() for a in receiver.wait_for(path, 1)] == [None]

    async def test_without_required_auth_no_credentials_are_ever_sent(
        self, client, tenant, database, sender, receiver
    ):
        path = receiver.new_path()
        receiver.require_basic_auth(path, "receiver", PASSWORD)
        await define(client, tenant, receiver.url(path), calloutRetry=False)
        await publish(database, tenant)

        (delivery,) = await deliver(sender, database, tenant)

        assert delivery.state == DeliveryState.FAILED
        assert [a.credentials() for a in receiver.wait_for(path, 1)] == [None]

    async def test_credentials_are_in_no_answer_and_in_clear_nowhere(
        self, client, tenant, database, sender, receiver
    ):
        path = receiver.new_path()
        receiver.require_basic_auth(path, "receiver", PASSWORD)
        definition = await define(
            client, tenant, receiver.url(path), requiredAuth=True, calloutAuth=AUTH
        )
        await publish(database, tenant)

        await deliver(sender, database, tenant)

        history = await client.get(
            "/v1/notification-history/callout",
            params={"failedOnly": "false", "includeResponseContent": "true"},
            headers=tenant.headers,
        )
        assert history.status_code == 200 and len(history.json()["calloutHistories"]) == 1
        read = await get_definition(client, tenant, definition["id"])
        for text in (history.text, str(read)):
            assert PASSWORD not in text
        assert await cells_containing(database, PASSWORD) == []
        assert (await deliveries_of(database, tenant))[0].state == DeliveryState.DELIVERED
