"""The callout connection pool on its own, against the real HTTPS receiver: connections are
kept and reused per origin, only to addresses vetted for the send at hand, at most so many at
once per origin; answers that are not HTTP are network failures."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import time

import pytest
from yarl import URL

from asyncgate.notifications.connections import (
    CalloutConnections,
    ExchangeFailed,
    Failure,
    tls_context,
)
from asyncgate.notifications.urls import VettedUrl
from tests.notifications.delivery.support import RECEIVER_NAME
from tests.support.receiver import Reply

LIMIT = 60 * 1024


def vetted(receiver, path: str, *addresses: str) -> VettedUrl:
    """``path`` on the receiver under its name, vetted to ``addresses``."""
    url = URL(f"https://{RECEIVER_NAME}:{receiver.port}{path}")
    return VettedUrl(url, receiver.port, tuple(map(ipaddress.ip_address, addresses)))


@pytest.fixture
async def pool(tls_ca_bundle):
    connections = CalloutConnections(
        tls_context(tls_ca_bundle), max_connections=10, max_per_origin=2, connect_timeout=2
    )
    yield connections
    await connections.close()


async def post(pool, target: VettedUrl, body: bytes = b"{}"):
    return await pool.exchange(
        target, "POST", target.url.raw_path_qs, {"Content-Type": "application/json"}, body, LIMIT
    )


class TestKeptConnections:
    async def test_sends_to_one_origin_reuse_one_connection(self, pool, receiver):
        path = receiver.new_path()
        target = vetted(receiver, path, "127.0.0.1")

        answers = [await post(pool, target) for _ in range(3)]

        assert [answer.status for answer in answers] == [200, 200, 200]
        arrivals = receiver.wait_for(path, 3)
        assert len({arrival.peer for arrival in arrivals}) == 1

    async def test_a_kept_connection_is_not_used_once_its_address_is_no_longer_vetted(
        self, pool, receiver
    ):
        path = receiver.new_path()
        await post(pool, vetted(receiver, path, "127.0.0.1"))

        # The name now leads elsewhere (nothing listens there): the kept connection to the
        # old address must not carry the send.
        with pytest.raises(ExchangeFailed) as failed:
            await post(pool, vetted(receiver, path, "127.0.0.254"))

        assert failed.value.failure == Failure.CONNECT
        assert len(receiver.arrivals(path)) == 1

    async def test_the_host_header_and_certificate_are_the_names(self, pool, receiver):
        path = receiver.new_path()

        await post(pool, vetted(receiver, path, "127.0.0.1"))

        (arrival,) = receiver.wait_for(path, 1)
        assert arrival.headers["host"] == f"{RECEIVER_NAME}:{receiver.port}"

    async def test_an_answer_cut_at_the_limit_does_not_leave_its_connection_kept(
        self, pool, receiver
    ):
        path = receiver.new_path()
        receiver.script(path, Reply(200, b"x" * (LIMIT + 10_000)))
        target = vetted(receiver, path, "127.0.0.1")

        first = await post(pool, target)
        second = await post(pool, target)

        assert (len(first.content), second.status) == (LIMIT, 200)
        first_peer, second_peer = (arrival.peer for arrival in receiver.wait_for(path, 2))
        assert first_peer != second_peer


class TestPerOrigin:
    async def test_no_more_than_the_bound_at_once_to_one_origin(self, pool, receiver):
        path = receiver.new_path()
        receiver.script(path, *[Reply(200, delay=0.4)] * 4)
        target = vetted(receiver, path, "127.0.0.1")

        started = time.monotonic()
        await asyncio.gather(*(post(pool, target) for _ in range(4)))

        # Two at a time (max_per_origin=2): two rounds of 0.4 s at the least.
        assert time.monotonic() - started >= 0.75


class TestNotHttp:
    async def test_an_answer_that_is_not_http_is_a_network_failure(
        self, pool, tls_ca, unused_tcp_port
    ):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_ca.issue_cert(RECEIVER_NAME).configure_cert(context)

        async def garbage(reader, writer):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
            await writer.drain()

        server = await asyncio.start_server(garbage, "127.0.0.1", unused_tcp_port, ssl=context)
        async with server:
            target = VettedUrl(
                URL(f"https://{RECEIVER_NAME}:{unused_tcp_port}/hook"),
                unused_tcp_port,
                (ipaddress.ip_address("127.0.0.1"),),
            )
            with pytest.raises(ExchangeFailed) as failed:
                await post(pool, target)

        assert failed.value.failure == Failure.NETWORK
