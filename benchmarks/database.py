"""The database a benchmark's server runs on, and how the benchmark reads the queue in it.

``--database`` chooses it:

- ``sqlite`` (the default): a fresh SQLite file in the bench's folder, which ``asyncgate serve``
  opens in WAL mode with ``synchronous=FULL`` (durable commits).
- ``postgresql``: a PostgreSQL server of the bench's own for the run (``ThrowawayPostgres`` of
  ``tests/support/postgres.py``: the highest installed major version, a free loopback port, its
  data in a temporary folder, stopped and removed at the end), on PostgreSQL's durable defaults
  (``fsync``, ``synchronous_commit`` and ``full_page_writes`` on) with the settings of ``TUNED``.
- a ``postgresql://`` URL: a server of yours, as it is configured. The bench creates a database
  of its own in it for the run and drops it at the end; when the role may not create databases,
  it uses the URL's database, which must then be empty.

``query(sql, *params)`` reads the database with ``?`` placeholders; in ``sql``, ``requests``
names every accepted request, those still waiting in SQLite's inbox included (as queued ones).
Timestamps go in as aware ``datetime`` values and come out as ``epoch(value)`` reads them.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import secrets
import sqlite3
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from asyncgate.asyncreq.queue.inbox import inbox_files

REPOSITORY = Path(__file__).resolve().parent.parent
# A throwaway server's settings besides PostgreSQL's defaults, as a deployment on this machine
# would have them: shared buffers that hold a run's working set (the default is 128MB), and
# connections for the pools of the API and of several worker processes (10 + 10 overflow each).
TUNED = {"shared_buffers": "512MB", "max_connections": "200"}
# What the settings table shows of a PostgreSQL server.
SHOWN = ("fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "max_connections")
REQUEST_COLUMNS = "id, state, track_id, created_at, completed_at"


class BenchDatabase(ABC):
    url: str  # ASYNCGATE_DATABASE_URL
    folder: Path | None = None  # where its files are, when on this machine and known
    server_pid: int | None = None  # the process of its server, when the bench runs it

    @abstractmethod
    def query(self, sql: str, *params: object) -> list[tuple]:
        """The rows of ``sql`` (``?`` placeholders), in which ``requests`` names every
        accepted request, each with ``REQUEST_COLUMNS``."""

    @abstractmethod
    def epoch(self, stored: Any) -> float:
        """A timestamp as a query returns it, in seconds since the epoch."""

    @abstractmethod
    def describe(self) -> str:
        """What it is, and the settings its commits depend on."""

    @abstractmethod
    def close(self) -> None:
        """Release what the reads hold."""


class SqliteDatabase(BenchDatabase):
    """A SQLite file, read (read-only) with its inbox lanes attached."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.folder = path.parent
        self.url = f"sqlite:///{path}"

    def query(self, sql: str, *params: object) -> list[tuple]:
        connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            lanes = inbox_files(str(self.path))
            for lane, file in enumerate(lanes):
                connection.execute(f"ATTACH DATABASE ? AS lane{lane}", (f"file:{file}?mode=ro",))
            values = [_sqlite_time(p) if isinstance(p, datetime) else p for p in params]
            return connection.execute(_with_requests(len(lanes)) + sql, values).fetchall()
        finally:
            connection.close()

    def epoch(self, stored: str) -> float:
        return datetime.fromisoformat(stored).replace(tzinfo=UTC).timestamp()

    def describe(self) -> str:
        return "SQLite file, WAL, synchronous=FULL (durable commits)"

    def close(self) -> None:
        """Nothing held: every query opens the files afresh (the inbox's lanes among them)."""


class PostgresDatabase(BenchDatabase):
    """A PostgreSQL database, read over one asyncpg connection kept for the run."""

    def __init__(self, url: URL, where: str, **known: Any) -> None:
        self.url = url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.where = where
        self.folder = known.get("folder")
        self.server_pid = known.get("server_pid")
        self._runner: asyncio.Runner | None = None
        self._connection: asyncpg.Connection | None = None

    def query(self, sql: str, *params: object) -> list[tuple]:
        numbered = _numbered(
            f"WITH requests AS (SELECT {REQUEST_COLUMNS} FROM async_requests) {sql}"
        )
        values = [_naive_utc(p) if isinstance(p, datetime) else p for p in params]
        return [tuple(row) for row in self._run(lambda c: c.fetch(numbered, *values))]

    def execute(self, sql: str) -> None:
        """A statement on its own (no ``requests``, no parameters)."""
        self._run(lambda connection: connection.execute(sql))

    def value(self, sql: str) -> Any:
        """The first value of a query on its own (no ``requests``, no parameters)."""
        return self._run(lambda connection: connection.fetchval(sql))

    def epoch(self, stored: datetime) -> float:
        return stored.replace(tzinfo=UTC).timestamp()

    def describe(self) -> str:
        settings = ", ".join(f"current_setting('{name}')" for name in ("server_version", *SHOWN))
        version, *values = self._run(lambda connection: connection.fetchrow(f"SELECT {settings}"))
        shown = ", ".join(f"{name}={value}" for name, value in zip(SHOWN, values, strict=True))
        return f"PostgreSQL {version.split()[0]}, {self.where}: {shown}"

    def close(self) -> None:
        if self._runner is None:
            return
        if self._connection is not None:
            self._runner.run(self._connection.close())
            self._connection = None
        self._runner.close()
        self._runner = None

    def _run(self, call: Callable[[asyncpg.Connection], Coroutine[Any, Any, Any]]) -> Any:
        if self._runner is None:
            self._runner = asyncio.Runner()
        if self._connection is None:
            self._connection = self._runner.run(asyncpg.connect(self._dsn))
        return self._runner.run(call(self._connection))


# -- choosing one ------------------------------------------------------------------------------


def add_options(parser: argparse.ArgumentParser) -> None:
    """``--database``, and ``--workers``: how many worker processes claim from it."""
    parser.add_argument(
        "--database",
        default="sqlite",
        metavar="sqlite|postgresql|URL",
        help="a fresh SQLite file (default), a throwaway durable PostgreSQL server, "
        "or a postgresql:// URL of an existing server",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes: serve's own, and N-1 more `asyncgate worker` (PostgreSQL)",
    )


def check_options(parser: argparse.ArgumentParser, options: argparse.Namespace) -> None:
    if options.workers < 1:
        parser.error("--workers must be at least 1 (serve's own worker process)")
    if options.workers > 1 and options.database == "sqlite":
        parser.error(
            "--workers above 1 needs PostgreSQL (--database postgresql): "
            "on SQLite one process claims async requests"
        )
    if any(item.partition("=")[0].strip().lower() == "database_url" for item in options.set):
        parser.error("the server's database is --database's, not --set database_url")


@contextmanager
def open_database(choice: str, folder: Path) -> Iterator[BenchDatabase]:
    """The database ``--database`` names, for as long as the ``with`` block runs."""
    with ExitStack() as stack:
        if choice == "sqlite":
            database: BenchDatabase = SqliteDatabase(folder / "asyncgate.db")
        elif choice == "postgresql":
            database = _throwaway_postgres(stack)
        else:
            database = _existing_postgres(choice, stack)
        stack.callback(database.close)
        yield database


def _throwaway_postgres(stack: ExitStack) -> PostgresDatabase:
    if str(REPOSITORY) not in sys.path:
        sys.path.append(str(REPOSITORY))
    from tests.support.postgres import ThrowawayPostgres

    try:
        server = ThrowawayPostgres(durable=True, settings=TUNED)
    except RuntimeError as error:
        raise SystemExit(f"{error}\nOr install it: scripts/ensure-system-packages.sh") from None
    stack.enter_context(server)
    url = make_url(server.create_database("asyncgate_bench"))
    where = "a throwaway server on loopback"
    return PostgresDatabase(url, where, folder=server.folder, server_pid=server.pid)


def _existing_postgres(choice: str, stack: ExitStack) -> PostgresDatabase:
    try:
        given = make_url(choice)
    except ArgumentError:
        given = None
    if given is None or given.get_backend_name() != "postgresql":
        raise SystemExit(f"--database takes sqlite, postgresql or a postgresql:// URL: {choice!r}")
    server = PostgresDatabase(given, f"an existing server ({given.host}:{given.port or 5432})")
    stack.callback(server.close)
    name = f"asyncgate_bench_{secrets.token_hex(4)}"
    try:
        server.execute(f'CREATE DATABASE "{name}"')
    except asyncpg.InsufficientPrivilegeError:
        if server.value("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"):
            raise SystemExit(
                f"the database {given.database} has tables, and its role may not create a "
                "database for the run: give an empty database, or a role with CREATEDB"
            ) from None
        return server
    stack.callback(server.execute, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return PostgresDatabase(given.set(database=name), server.where)


# -- SQL of each --------------------------------------------------------------------------------


def _with_requests(lanes: int) -> str:
    """A ``requests`` view: the queue's requests and those each inbox lane (attached as
    ``lane0``, ``lane1`` ...) holds that the queue has not taken in yet, as queued ones."""
    waiting = "".join(
        f"""
    UNION ALL
    SELECT id, 'queued', track_id, created_at, NULL FROM lane{lane}.accepted_requests
    WHERE seq > coalesce(
        (SELECT taken_in_through FROM async_request_inbox_progress WHERE id = {lane + 1}), 0)"""
        for lane in range(lanes)
    )
    return f"""WITH requests AS (
    SELECT {REQUEST_COLUMNS} FROM async_requests{waiting}
) """


def _sqlite_time(moment: datetime) -> str:
    """The text form SQLAlchemy stores naive UTC datetimes in on SQLite (sorts as time)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _naive_utc(moment: datetime) -> datetime:
    """How asyncgate stores times on PostgreSQL: ``timestamp without time zone``, in UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def _numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1``, ``$2`` ..."""
    counter = itertools.count(1)
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)
