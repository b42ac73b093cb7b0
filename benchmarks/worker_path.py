"""The worker's execution path alone: ``.venv/bin/python benchmarks/worker_path.py``.

Stores N async account creations through the application (in-process, no sockets), then runs
the worker's own steps (claim, execute a batch) until the queue is empty, in one process with
nothing else to do. With ``--callouts D``, the tenant has D notification definitions that send
every ``Async Request Succeeded`` to a receiver in a process of its own (``receiver.py``), and
the process's sender runs beside the worker, as in ``asyncgate worker``, until every callout
has arrived: the figures are then per executed request and its D callouts.

It reports completions per second, CPU time and bytes written to storage per executed request
(claiming apart), the SQL statements each execution issues, and how long each write transaction
held SQLite's write lock (an accept that arrives meanwhile cannot commit; with nobody waiting,
the worker's transactions are as long as they may be). Use it to see what a change to the
execution path buys without the noise of HTTP and load generation.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import uvloop
from machine import bytes_written
from receiver import ReceiverProcess, definition_body
from run import ACCOUNT
from sqlalchemy import event, func, select
from stats import distribution_ms

from asyncgate.app import create_app
from asyncgate.asyncreq.models import AsyncRequest
from asyncgate.asyncreq.worker import Worker, WorkerConfig
from asyncgate.auth.bootstrap import bootstrap_if_empty
from asyncgate.config import Settings
from asyncgate.db.engine import Database
from asyncgate.db.migrate import upgrade_to_head
from asyncgate.notifications.callout_client import CalloutClient
from asyncgate.notifications.sender import Sender

CLIENT_SECRET = "worker-path-benchmark-secret"
CALLOUTS_TIMEOUT_SECONDS = 120


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests to execute")
    parser.add_argument("--batch-size", type=int, default=50, help="ASYNCGATE_WORKER_BATCH_SIZE")
    parser.add_argument(
        "--callouts", type=int, default=0, help="definitions sending a callout per request"
    )
    return parser.parse_args()


def statement_kind(statement: str) -> str:
    """``INSERT accounts``, ``SELECT accounts``, ``SAVEPOINT``, ... for the statement log."""
    words = statement.split()
    verb = words[0].upper()
    if verb in ("INSERT", "DELETE"):
        return f"{verb} {words[2]}"
    if verb == "UPDATE":
        return f"{verb} {words[1]}"
    if verb == "SELECT" and "FROM" in words:
        return f"{verb} {words[words.index('FROM') + 1]}"
    return verb


async def main(options: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="asyncgate-worker-path-"))
    with contextlib.ExitStack() as stack:
        receiver = None
        if options.callouts:
            receiver = stack.enter_context(ReceiverProcess(folder))
        await measure(options, folder, receiver)


async def measure(
    options: argparse.Namespace, folder: Path, receiver: ReceiverProcess | None
) -> None:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{folder / 'asyncgate.db'}",
        data_dir=folder,
        bootstrap_client_id=str(uuid.uuid4()),
        bootstrap_client_secret=CLIENT_SECRET,
        tenant_requests_per_minute=0,
        tenant_requests_per_hour=0,
        tenant_requests_per_day=0,
        worker_batch_size=options.batch_size,
        callout_allow_private_addresses=True,
        callout_allow_ports=True,
        callout_ca_bundle=receiver.ca_path if receiver else None,
    )
    database = Database(settings)
    try:
        await upgrade_to_head(database.engine)
        await bootstrap_if_empty(database, settings)
        app = create_app(settings, database)
        async with api_client(app, settings) as api:
            if receiver is not None:
                await define_callouts(api, receiver, options.callouts)
            await accept(api, options.requests)
        client = CalloutClient.from_settings(settings, max_connections=settings.callout_concurrency)
        sender = Sender(database, settings, app.state.secret_box, client)
        stop_sending = asyncio.Event()
        sending = asyncio.create_task(sender.run(stop_sending))

        statements: Counter[str] = Counter()

        @event.listens_for(database.engine.sync_engine, "before_cursor_execute")
        def count(connection, cursor, statement, parameters, context, executemany) -> None:
            statements[statement_kind(statement)] += 1

        holds: list[float] = []
        began: list[float] = []

        @event.listens_for(database.engine.sync_engine, "begin")
        def begin(connection) -> None:
            began.append(time.perf_counter())

        @event.listens_for(database.engine.sync_engine, "commit")
        def commit(connection) -> None:
            holds.append(time.perf_counter() - began.pop())

        @event.listens_for(database.engine.sync_engine, "rollback")
        def rollback(connection) -> None:
            if began:
                began.pop()

        worker = Worker(app, database, WorkerConfig.from_settings(settings))
        executed = 0
        claim_cpu = 0.0
        written = {"claiming": 0, "executing": 0}
        started, cpu_started = time.perf_counter(), time.process_time()
        while True:
            claim_started, before = time.process_time(), bytes_written(os.getpid())
            claimed = await worker.claim(settings.worker_batch_size)
            claim_cpu += time.process_time() - claim_started
            written["claiming"] += bytes_written(os.getpid()) - before
            if not claimed:
                break
            before = bytes_written(os.getpid())
            await worker.execute_batch(claimed)
            written["executing"] += bytes_written(os.getpid()) - before
            executed += len(claimed)
        if receiver is not None:
            await asyncio.to_thread(
                receiver.wait_for, executed * options.callouts, CALLOUTS_TIMEOUT_SECONDS
            )
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        stop_sending.set()
        await sending
        await client.aclose()
        async with database.transaction() as session:
            states = dict(
                (
                    await session.execute(
                        select(AsyncRequest.state, func.count()).group_by(AsyncRequest.state)
                    )
                ).all()
            )
    finally:
        await database.dispose()
        shutil.rmtree(folder, ignore_errors=True)

    callouts = f", {options.callouts} callout(s) each" if options.callouts else ""
    print(
        f"executed {executed:,} account creations{callouts}, "
        f"batches of {options.batch_size}: {states}"
    )
    print(f"  completions:        {executed / elapsed:,.1f}/s")
    print(
        f"  CPU per execution:  {1000 * cpu / executed:.2f} ms (all threads), "
        f"of which claiming {1000 * claim_cpu / executed:.2f} ms"
    )
    print(
        "  written per execution: "
        + ", ".join(f"{step} {size / executed / 1024:.1f} KiB" for step, size in written.items())
    )
    print(f"  write lock held per transaction (BEGIN to COMMIT): {distribution_ms(holds)}")
    print(f"  SQL statements per execution: {sum(statements.values()) / executed:.1f}")
    for kind, number in statements.most_common():
        print(f"    {number / executed:5.2f}  {kind}")


@contextlib.asynccontextmanager
async def api_client(app, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app's API in-process, with a token of the bootstrap client."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        answer = await client.post(
            "/oauth/token",
            data={
                "client_id": settings.bootstrap_client_id,
                "client_secret": CLIENT_SECRET,
                "grant_type": "client_credentials",
            },
        )
        answer.raise_for_status()
        client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        yield client


async def define_callouts(api: httpx.AsyncClient, receiver: ReceiverProcess, count: int) -> None:
    (await api.post("/notifications/callout-settings/signing-secret")).raise_for_status()
    for number in range(1, count + 1):
        name, url = f"benchmark {number}", receiver.url(f"/bench/{number}")
        answer = await api.post(
            "/notifications/notification-definitions", json=definition_body(name, url)
        )
        answer.raise_for_status()


async def accept(api: httpx.AsyncClient, requests: int) -> None:
    headers = {"Content-Type": "application/json"}
    for first in range(0, requests, 500):
        answers = await asyncio.gather(
            *(
                api.post("/v1/async/accounts", content=ACCOUNT, headers=headers)
                for _ in range(min(500, requests - first))
            )
        )
        refused = [a for a in answers if a.status_code != 202]
        if refused:
            raise SystemExit(f"an accept failed: {refused[0].status_code} {refused[0].text}")


if __name__ == "__main__":
    uvloop.run(main(parse_options()))
