"""Group commit: many callers' writes share one transaction, hence one fsync.

Whoever submits while a commit is in flight joins the next one. An idle committer commits a
lone item at once, so grouping adds no latency; a busy one turns many fsyncs into one. Up to
``lanes`` commits may be in flight at once, each on a lane of its own (a file that takes one
writer at a time, say): an item that arrives while every lane commits joins the group of
whichever frees first. Items pinned to the first lane wait for it.

A group whose commit raises is committed again item by item, so that an item the database
refuses fails its own caller only, never the others of its group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

MAX_GROUP = 500
_Pending = list[tuple[Item, "asyncio.Future[Result]"]]


class GroupCommit(Generic[Item, Result]):
    def __init__(
        self,
        commit: Callable[[list[Item], int], Awaitable[list[Result | Exception]]],
        *,
        lanes: int = 1,
        max_group: int = MAX_GROUP,
    ) -> None:
        """``commit(items, lane)`` writes ``items`` in one transaction on ``lane`` and returns,
        per item, its result or the error that fails it alone."""
        self._commit = commit
        self._max_group = max_group
        self._pinned: _Pending[Item, Result] = []
        self._free: _Pending[Item, Result] = []
        self._idle_lanes = set(range(lanes))
        # Lanes whose flusher has started but not yet taken its first group: items that
        # arrive meanwhile join that group.
        self._starting: set[int] = set()
        self._flushers: set[asyncio.Task[None]] = set()

    def submit(self, item: Item, *, first_lane_only: bool = False) -> asyncio.Future[Result]:
        """Queue ``item`` for the next commit; the future resolves once it is committed (or
        fails with what failed it). Nothing waits for it unless its caller does."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        (self._pinned if first_lane_only else self._free).append((item, future))
        if first_lane_only:
            if 0 not in self._starting and 0 in self._idle_lanes:
                self._start(0)
        elif not self._starting and self._idle_lanes:
            self._start(min(self._idle_lanes))
        return future

    async def flushed(self) -> None:
        """Return once everything submitted so far is committed (or failed)."""
        while self._flushers:
            await asyncio.wait(set(self._flushers))

    def _start(self, lane: int) -> None:
        self._idle_lanes.discard(lane)
        self._starting.add(lane)
        flusher = asyncio.create_task(self._flush_until_empty(lane))
        self._flushers.add(flusher)
        flusher.add_done_callback(self._flushers.discard)

    def _next_group(self, lane: int) -> _Pending[Item, Result]:
        group, self._free = self._free[: self._max_group], self._free[self._max_group :]
        if lane == 0 and len(group) < self._max_group:
            room = self._max_group - len(group)
            group, self._pinned = self._pinned[:room] + group, self._pinned[room:]
        return group

    async def _flush_until_empty(self, lane: int) -> None:
        try:
            self._starting.discard(lane)
            while group := self._next_group(lane):
                outcomes = await self._commit_or_each([item for item, _ in group], lane)
                for (_, future), outcome in zip(group, outcomes, strict=True):
                    if future.done():  # its caller went away
                        continue
                    if isinstance(outcome, Exception):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self._idle_lanes.add(lane)

    async def _commit_or_each(self, items: list[Item], lane: int) -> list[Result | Exception]:
        try:
            return await self._commit(items, lane)
        except Exception as error:  # noqa: BLE001 - its waiter must learn of it
            if len(items) == 1:
                return [error]
        return [(await self._commit_or_each([item], lane))[0] for item in items]
