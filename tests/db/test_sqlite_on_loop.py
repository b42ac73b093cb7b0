"""SQLite on the event loop: where a commit runs."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from asyncgate.db import sqlite_on_loop


@pytest.mark.parametrize("commits_inline", [False, True])
async def test_a_write_commits_on_a_thread_unless_the_connection_commits_inline(
    tmp_path, monkeypatch, commits_inline
):
    path = tmp_path / "commits.db"
    connect = sqlite_on_loop.connector(
        f"sqlite:///{path}", 1.0, ("PRAGMA journal_mode=WAL",), None, commits_inline=commits_inline
    )
    connection = await connect()
    loop = asyncio.get_running_loop()
    handed_over = []
    run_in_executor = loop.run_in_executor

    def handing_over(executor, work, *args):
        handed_over.append(work)
        return run_in_executor(executor, work, *args)

    monkeypatch.setattr(loop, "run_in_executor", handing_over)
    try:
        async with connection.write_transaction() as cursor:
            cursor.execute("CREATE TABLE t (x INTEGER)")
            cursor.execute("INSERT INTO t VALUES (1)")
    finally:
        connection.stop()

    assert bool(handed_over) is not commits_inline
    with sqlite3.connect(path) as reader:
        assert reader.execute("SELECT x FROM t").fetchall() == [(1,)]
