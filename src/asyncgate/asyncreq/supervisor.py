"""The worker process of ``asyncgate serve``: async requests execute in a child process.

Executions in the API's process would take its event loop and, with Python's GIL, its core;
in a process of their own they get a core of their own. The API's process supervises the child:
it restarts it, after a capped backoff, whenever it exits unexpectedly, and stops it with the
API: SIGTERM, which lets the current batch finish, then SIGKILL after a grace period.

The child never outlives its parent, however the parent ends (SIGKILL included): its standard
input is a pipe from the parent, which the kernel closes when the parent is gone, and the
child stops, as on SIGTERM, once that pipe reaches end-of-file. It runs in a session of its
own, so that a Ctrl-C in a terminal reaches the parent only, which then stops it as above.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

log = logging.getLogger("asyncgate.supervisor")

FIRST_RESTART_DELAY_SECONDS = 0.5
MAX_RESTART_DELAY_SECONDS = 30.0
# A child that ran at least this long before it exited is restarted after the first delay.
STABLE_SECONDS = MAX_RESTART_DELAY_SECONDS
STOP_GRACE_SECONDS = 5.0


class WorkerProcess:
    """``command`` kept running in a child process while ``running()`` is entered."""

    def __init__(
        self, command: Sequence[str], environment: Mapping[str, str], name: str = "worker"
    ) -> None:
        self.command = list(command)
        self.environment = dict(environment)
        self.name = name  # in the log: "<name> process 1234 started"

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        stopping = asyncio.Event()
        supervision = asyncio.create_task(self._supervise(stopping))
        try:
            yield
        finally:
            stopping.set()
            await supervision

    async def _supervise(self, stopping: asyncio.Event) -> None:
        """Start the child, and again whenever it exits, until ``stopping``; then stop it."""
        delay = FIRST_RESTART_DELAY_SECONDS
        while not stopping.is_set():
            started = time.monotonic()
            try:
                process = await asyncio.create_subprocess_exec(
                    *self.command,
                    env=self.environment,
                    stdin=asyncio.subprocess.PIPE,
                    start_new_session=True,
                )
            except OSError as error:
                log.error(
                    "cannot start the %s process (%s); next try in %.1f s", self.name, error, delay
                )
            else:
                log.info("%s process %d started", self.name, process.pid)
                exited = asyncio.ensure_future(process.wait())
                await _until_either(exited, stopping)
                if not exited.done():
                    await _stop(self.name, process, exited)
                    return
                if time.monotonic() - started >= STABLE_SECONDS:
                    delay = FIRST_RESTART_DELAY_SECONDS
                log.warning(
                    "%s process %d %s; restarting it in %.1f s",
                    self.name,
                    process.pid,
                    _exit_status(process.returncode),
                    delay,
                )
            with suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), delay)
            delay = min(delay * 2, MAX_RESTART_DELAY_SECONDS)


async def _until_either(exited: asyncio.Future[int], stopping: asyncio.Event) -> None:
    stop_asked = asyncio.ensure_future(stopping.wait())
    either: list[asyncio.Future[Any]] = [exited, stop_asked]
    try:
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop_asked.cancel()


async def _stop(
    name: str, process: asyncio.subprocess.Process, exited: asyncio.Future[int]
) -> None:
    """SIGTERM (the current batch finishes), and SIGKILL if it lingers past the grace period."""
    with suppress(ProcessLookupError):  # it may have exited just now
        process.terminate()
    try:
        await asyncio.wait_for(asyncio.shield(exited), STOP_GRACE_SECONDS)
    except TimeoutError:
        log.warning(
            "%s process %d did not stop within %.0f s of SIGTERM; killing it",
            name,
            process.pid,
            STOP_GRACE_SECONDS,
        )
        with suppress(ProcessLookupError):
            process.kill()
        await exited
    log.info("%s process %d stopped", name, process.pid)


def _exit_status(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with status {returncode}"


@asynccontextmanager
async def stopped_with_parent(stop: asyncio.Event) -> AsyncIterator[None]:
    """In the child: set ``stop`` once standard input, the pipe from the parent, is closed."""

    class EndOfInput(asyncio.Protocol):
        def eof_received(self) -> None:
            if not stop.is_set():
                log.warning("the serving process is gone; stopping after the current batch")
                stop.set()

    transport, _ = await asyncio.get_running_loop().connect_read_pipe(EndOfInput, sys.stdin)
    try:
        yield
    finally:
        transport.close()
