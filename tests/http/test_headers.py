"""``Zuora-Request-Id`` on every answer; ``Zuora-Track-Id`` echoed, or refused when invalid."""

from __future__ import annotations

import uuid

import pytest

from asyncgate.http.errors import Category
from tests.http.assertions import assert_request_id, assert_zuora_error
from tests.http.probe import FAILURES, TALLIES, tally_of

VALID_TRACK_IDS = ["order-42", "A" * 64, "with spaces and/slashes_and-dashes.1", "~!@#$%^&*()"]
INVALID_TRACK_IDS = [
    pytest.param(b"A" * 65, id="65 characters"),
    pytest.param(b"a:b", id="colon"),
    pytest.param(b"a;b", id="semicolon"),
    pytest.param(b'a"b', id="double quote"),
    pytest.param(b"a'b", id="single quote"),
    pytest.param("caf\u00e9".encode(), id="non-ASCII UTF-8"),
    pytest.param(b"caf\xe9", id="non-ASCII latin-1"),
    pytest.param(b"a\tb", id="control character"),
]


class TestRequestId:
    async def test_a_success_carries_a_request_id(self, probe):
        assert_request_id(await probe.get("/health"))

    async def test_every_answer_gets_its_own_request_id(self, probe):
        ids = {assert_request_id(await probe.get("/health")) for _ in range(5)}
        assert len(ids) == 5

    async def test_an_unknown_route_carries_a_request_id(self, probe):
        assert_request_id(await probe.get("/v1/not-a-route"))

    async def test_an_authentication_failure_carries_a_request_id(self, probe):
        response = await probe.post(TALLIES, json={"counter": "x"})
        assert response.status_code == 401
        assert_request_id(response)

    async def test_an_oversized_body_refusal_carries_a_request_id(self, probe, tenant, settings):
        response = await probe.post(
            TALLIES,
            content=b"x" * (settings.max_body_bytes + 1),
            headers={**tenant.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 413
        assert_request_id(response)

    async def test_an_internal_error_carries_a_request_id(self, probe, tenant):
        response = await probe.post(FAILURES, json={"counter": "x"}, headers=tenant.headers)
        assert response.status_code == 500
        assert_request_id(response)

    async def test_the_process_id_of_an_error_is_derived_from_its_request_id(self, probe):
        response = await probe.get("/v1/not-a-route")

        request_id = uuid.UUID(response.headers["zuora-request-id"])
        assert response.json()["processId"] == request_id.hex[-16:].upper()


class TestTrackId:
    @pytest.mark.parametrize("track_id", VALID_TRACK_IDS)
    async def test_a_valid_track_id_is_echoed(self, probe, tenant, track_id):
        response = await probe.post(
            TALLIES,
            json={"counter": uuid.uuid4().hex},
            headers={**tenant.headers, "Zuora-Track-Id": track_id},
        )

        assert response.status_code == 200
        assert response.headers["zuora-track-id"] == track_id

    async def test_a_track_id_is_echoed_on_errors_too(self, probe):
        response = await probe.get("/v1/not-a-route", headers={"Zuora-Track-Id": "t-1"})

        assert response.status_code == 404
        assert response.headers["zuora-track-id"] == "t-1"

    async def test_no_track_id_is_invented(self, probe):
        assert "zuora-track-id" not in (await probe.get("/health")).headers

    @pytest.mark.parametrize("track_id", INVALID_TRACK_IDS)
    async def test_an_invalid_track_id_is_refused_and_nothing_is_done(
        self, probe, tenant, database, track_id
    ):
        counter = uuid.uuid4().hex

        response = await probe.post(
            TALLIES,
            json={"counter": counter},
            headers=[
                *tenant.headers.items(),
                ("Content-Type", "application/json"),
                (b"Zuora-Track-Id", track_id),
            ],
        )

        body = assert_zuora_error(response, 400, Category.INVALID_VALUE)
        assert "Zuora-Track-Id" in body["reasons"][0]["message"]
        assert "zuora-track-id" not in response.headers
        assert await tally_of(database, tenant.tenant_id, counter) == 0

    async def test_an_invalid_track_id_is_refused_before_authentication(self, probe):
        response = await probe.get("/v1/probe/padding?size=1", headers={"Zuora-Track-Id": "a;b"})

        assert_zuora_error(response, 400, Category.INVALID_VALUE)


class TestClientHeaders:
    async def test_the_sdk_headers_are_accepted(self, probe, tenant):
        response = await probe.post(
            TALLIES,
            json={"counter": uuid.uuid4().hex},
            headers={
                **tenant.headers,
                "Zuora-Version": "2024-05-20",
                "User-Agent": "zuora-py-sdk/3.21.0/python",
            },
        )

        assert response.status_code == 200
