"""The request queue: where accepted async requests wait until a worker claims them, and where
the status resource, cancels, metrics, the console and retention find them.

One interface (``base.RequestQueue``) and one implementation per database, chosen once by
:func:`queue_for` where the app and the worker are built; nothing outside this package knows
which one runs:

- ``postgres``: accepts are inserted into ``async_requests`` in group commits and announced
  with NOTIFY; any number of processes claim, skipping rows others hold.
- ``sqlite``: accepts are appended to the inbox, files beside the database (``inbox``), and
  claims take them into ``async_requests``; wake-ups watch every file's commits.

Both keep claimed, retried and finished requests in ``async_requests`` (``table``), where
workers fence their outcomes.
"""

from __future__ import annotations

from asyncgate.asyncreq.queue.base import Backlog, Lease, RequestQueue
from asyncgate.asyncreq.queue.postgres import PostgresQueue
from asyncgate.asyncreq.queue.sqlite import SqliteQueue
from asyncgate.asyncreq.queue.table import LEASED_REQUESTS
from asyncgate.db.engine import Database

__all__ = ["LEASED_REQUESTS", "Backlog", "Lease", "RequestQueue", "queue_for"]


def queue_for(database: Database) -> RequestQueue:
    if database.sqlite_file is not None:
        return SqliteQueue(database)
    if database.engine.dialect.name == "postgresql":
        return PostgresQueue(database)
    raise ValueError(
        "async requests need a database other processes can open: a SQLite file or PostgreSQL"
    )
