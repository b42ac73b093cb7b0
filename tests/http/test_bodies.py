"""Request bodies: JSON only, validated into Zuora's categories, gzip in (bounded) and out."""

from __future__ import annotations

import gzip
import json
import struct
import time
import tracemalloc
import uuid
import zlib

import pytest

from asyncgate.http.errors import Category
from asyncgate.http.middleware import ZuoraConventionsMiddleware
from tests.http.assertions import assert_zuora_error
from tests.http.probe import PADDING, TALLIES, tally_of

MiB = 1 << 20
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # deflate, no name, no mtime


def gzip_bomb(inflated_mib: int) -> bytes:
    """A valid one-member gzip of ``inflated_mib`` MiB of zeros, built without holding them.

    One MiB of zeros is deflated with a full flush, which makes every block's output identical
    and byte-aligned, so the stream is that block repeated, between a header and a trailer.
    """
    zeros = bytes(MiB)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = deflater.compress(zeros) + deflater.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(inflated_mib):
        crc = zlib.crc32(zeros, crc)
    trailer = struct.pack("<II", crc, (inflated_mib * MiB) & 0xFFFFFFFF)
    return GZIP_HEADER + block * inflated_mib + deflater.flush() + trailer


@pytest.fixture(scope="module")
def one_gib_bomb() -> bytes:
    return gzip_bomb(1024)


def json_headers(tenant, **extra: str) -> dict[str, str]:
    return {**tenant.headers, "Content-Type": "application/json", **extra}


class TestContentType:
    @pytest.mark.parametrize(
        "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
    )
    async def test_a_body_that_is_not_json_is_refused_with_415(
        self, probe, tenant, database, content_type
    ):
        counter = uuid.uuid4().hex
        response = await probe.post(
            TALLIES,
            content=json.dumps({"counter": counter}),
            headers={**tenant.headers, "Content-Type": content_type},
        )

        assert_zuora_error(response, 415, Category.INVALID_VALUE)
        assert await tally_of(database, tenant.tenant_id, counter) == 0

    async def test_a_body_without_a_content_type_is_refused_with_415(self, probe, tenant):
        response = await probe.post(TALLIES, content=b'{"counter": "x"}', headers=tenant.headers)

        assert_zuora_error(response, 415, Category.INVALID_VALUE)

    @pytest.mark.parametrize(
        "content_type", ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON"]
    )
    async def test_json_with_parameters_or_any_case_is_accepted(self, probe, tenant, content_type):
        response = await probe.post(
            TALLIES,
            content=json.dumps({"counter": uuid.uuid4().hex}),
            headers={**tenant.headers, "Content-Type": content_type},
        )

        assert response.status_code == 200

    async def test_an_unsupported_content_encoding_is_refused_with_415(self, probe, tenant):
        response = await probe.post(
            TALLIES, content=b"\x00", headers=json_headers(tenant, **{"Content-Encoding": "br"})
        )

        assert_zuora_error(response, 415, Category.INVALID_VALUE)


class TestJsonValidation:
    async def test_malformed_json_is_category_90(self, probe, tenant):
        response = await probe.post(TALLIES, content=b'{"counter": ', headers=json_headers(tenant))

        body = assert_zuora_error(response, 400, Category.MALFORMED_JSON)
        assert len(body["reasons"]) == 1

    async def test_an_unknown_field_is_category_21_and_named(self, probe, tenant):
        response = await probe.post(
            TALLIES, json={"counter": "c", "colour": "blue"}, headers=tenant.headers
        )

        body = assert_zuora_error(response, 400, Category.UNKNOWN_FIELD)
        assert "colour" in body["reasons"][0]["message"]

    async def test_a_missing_required_field_is_category_22_and_named(self, probe, tenant):
        response = await probe.post(TALLIES, json={"note": "n"}, headers=tenant.headers)

        body = assert_zuora_error(response, 400, Category.MISSING_FIELD)
        assert "counter" in body["reasons"][0]["message"]

    async def test_a_missing_body_is_category_22(self, probe, tenant):
        response = await probe.post(TALLIES, headers=tenant.headers)

        assert_zuora_error(response, 400, Category.MISSING_FIELD)

    async def test_a_wrong_type_is_category_20(self, probe, tenant):
        response = await probe.post(
            TALLIES, json={"counter": "c", "waitFor": "soon"}, headers=tenant.headers
        )

        body = assert_zuora_error(response, 400, Category.INVALID_VALUE)
        assert "waitFor" in body["reasons"][0]["message"]

    async def test_every_bad_field_is_reported(self, probe, tenant):
        response = await probe.post(
            TALLIES, json={"colour": "blue", "waitFor": "soon"}, headers=tenant.headers
        )

        assert response.status_code == 400
        categories = sorted(reason["code"] % 100 for reason in response.json()["reasons"])
        assert categories == [
            Category.INVALID_VALUE,
            Category.UNKNOWN_FIELD,
            Category.MISSING_FIELD,
        ]

    async def test_a_missing_query_parameter_is_category_23(self, probe, tenant):
        response = await probe.get(PADDING, headers=tenant.headers)

        body = assert_zuora_error(response, 400, Category.MISSING_PARAMETER)
        assert "size" in body["reasons"][0]["message"]


class TestGzipRequests:
    async def test_a_gzipped_json_body_is_inflated_and_performed(self, probe, tenant, database):
        counter = uuid.uuid4().hex

        response = await probe.post(
            TALLIES,
            content=gzip.compress(json.dumps({"counter": counter}).encode()),
            headers=json_headers(tenant, **{"Content-Encoding": "gzip"}),
        )

        assert response.status_code == 200, response.text
        assert response.json()["counter"] == counter
        assert await tally_of(database, tenant.tenant_id, counter) == 1

    async def test_a_gzip_body_in_several_members_is_read_whole(self, probe, tenant):
        counter = uuid.uuid4().hex
        text = json.dumps({"counter": counter}).encode()

        response = await probe.post(
            TALLIES,
            content=gzip.compress(text[:5]) + gzip.compress(text[5:]),
            headers=json_headers(tenant, **{"Content-Encoding": "gzip"}),
        )

        assert response.status_code == 200, response.text
        assert response.json()["counter"] == counter

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param(b'{"counter": "c"}', id="not gzip at all"),
            pytest.param(gzip.compress(b'{"counter": "c"}')[:-6], id="truncated"),
            pytest.param(gzip.compress(b'{"counter": "c"}') + b"junk", id="trailing garbage"),
        ],
    )
    async def test_an_invalid_gzip_body_is_refused_with_400(self, probe, tenant, database, body):
        response = await probe.post(
            TALLIES, content=body, headers=json_headers(tenant, **{"Content-Encoding": "gzip"})
        )

        body = assert_zuora_error(response, 400, Category.MALFORMED_JSON)
        assert "gzip" in body["reasons"][0]["message"]
        assert await tally_of(database, tenant.tenant_id, "c") == 0

    async def test_a_body_inflating_past_the_limit_is_refused_with_413(
        self, probe, tenant, settings
    ):
        inflated = settings.max_body_bytes // MiB + 1

        response = await probe.post(
            TALLIES,
            content=gzip_bomb(inflated),
            headers=json_headers(tenant, **{"Content-Encoding": "gzip"}),
        )

        assert_zuora_error(response, 413, Category.INVALID_VALUE)

    async def test_a_gzip_bomb_is_refused_quickly_and_in_little_memory(
        self, probe, tenant, one_gib_bomb, settings
    ):
        assert len(one_gib_bomb) < 2 * MiB  # 1 GiB of zeros, compressed
        tracemalloc.start()
        try:
            started = time.perf_counter()
            response = await probe.post(
                TALLIES,
                content=one_gib_bomb,
                headers=json_headers(tenant, **{"Content-Encoding": "gzip"}),
            )
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

        assert_zuora_error(response, 413, Category.INVALID_VALUE)
        assert elapsed < 1.0
        # Bounded by the body limit (plus copies of the compressed body), nowhere near 1 GiB.
        assert peak < 2 * settings.max_body_bytes, f"peak {peak / MiB:.1f} MiB"


class TestBodyLimit:
    async def test_a_plain_body_over_the_limit_is_refused_with_413(
        self, probe, tenant, database, settings
    ):
        counter = uuid.uuid4().hex
        text = json.dumps({"counter": counter, "note": ""}).encode()
        body = text[:-2] + b" " * (settings.max_body_bytes - len(text) + 1) + text[-2:]

        response = await probe.post(TALLIES, content=body, headers=json_headers(tenant))

        assert_zuora_error(response, 413, Category.INVALID_VALUE)
        assert await tally_of(database, tenant.tenant_id, counter) == 0

    async def test_a_streamed_body_over_the_limit_is_refused_with_413(
        self, probe, tenant, settings
    ):
        chunks_sent = 0

        async def stream():
            nonlocal chunks_sent
            for _ in range(settings.max_body_bytes // MiB + 5):
                chunks_sent += 1
                yield b" " * MiB

        response = await probe.post(TALLIES, content=stream(), headers=json_headers(tenant))

        assert_zuora_error(response, 413, Category.INVALID_VALUE)
        assert "content-length" not in response.request.headers
        # Reading stopped at the limit instead of draining the whole upload first.
        assert chunks_sent <= settings.max_body_bytes // MiB + 1

    async def test_a_body_at_the_limit_is_accepted(self, probe, tenant, settings):
        text = json.dumps({"counter": uuid.uuid4().hex, "note": ""}).encode()
        body = text[:-2] + b" " * (settings.max_body_bytes - len(text)) + text[-2:]
        assert len(body) == settings.max_body_bytes

        response = await probe.post(TALLIES, content=body, headers=json_headers(tenant))

        assert response.status_code == 200, response.text


class TestGzipResponses:
    async def test_a_large_answer_is_gzipped_when_the_client_accepts_it(self, probe, tenant):
        response = await probe.get(
            PADDING, params={"size": 5000}, headers={**tenant.headers, "Accept-Encoding": "gzip"}
        )

        assert response.status_code == 200
        assert response.headers["content-encoding"] == "gzip"
        assert int(response.headers["content-length"]) < 1000
        assert response.json()["padding"] == "x" * 5000

    async def test_a_small_answer_is_not_gzipped(self, probe, tenant):
        response = await probe.get(
            PADDING, params={"size": 100}, headers={**tenant.headers, "Accept-Encoding": "gzip"}
        )

        assert response.status_code == 200
        assert "content-encoding" not in response.headers

    async def test_a_large_answer_is_plain_when_the_client_does_not_accept_gzip(
        self, probe, tenant
    ):
        response = await probe.get(
            PADDING,
            params={"size": 5000},
            headers={**tenant.headers, "Accept-Encoding": "identity"},
        )

        assert "content-encoding" not in response.headers
        assert len(response.content) > 5000

    async def test_a_gzipped_answer_keeps_the_zuora_headers(self, probe, tenant):
        response = await probe.get(
            PADDING,
            params={"size": 5000},
            headers={**tenant.headers, "Accept-Encoding": "gzip", "Zuora-Track-Id": "big-1"},
        )

        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["zuora-track-id"] == "big-1"
        assert "zuora-request-id" in response.headers


class TestInterruptedUploads:
    async def test_a_body_cut_short_by_a_disconnect_is_never_handled(self):
        handled, sent = [], []

        async def app(scope, receive, send):
            handled.append(await receive())

        messages = iter(
            [
                {"type": "http.request", "body": b'{"counter": "c"', "more_body": True},
                {"type": "http.disconnect"},
            ]
        )

        async def receive():
            return next(messages)

        async def send(message):
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": TALLIES,
            "headers": [(b"content-type", b"application/json")],
        }
        await ZuoraConventionsMiddleware(app, max_body_bytes=MiB, error_statuses="http")(
            scope, receive, send
        )

        assert handled == []
        assert sent == []
