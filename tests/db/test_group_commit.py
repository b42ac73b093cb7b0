"""Group commit: callers' items share commits, lanes commit at once, failures stay alone."""

from __future__ import annotations

import asyncio

from asyncgate.db.group_commit import GroupCommit


class Committer:
    """Commits by recording each group, after ``gate`` opens (it starts open)."""

    def __init__(self) -> None:
        self.groups: list[tuple[int, list[int]]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def commit(self, items: list[int], lane: int) -> list[int | Exception]:
        await self.gate.wait()
        if any(item < 0 for item in items):
            raise ValueError("negative items are refused")
        self.groups.append((lane, list(items)))
        return [item * 10 for item in items]


async def test_items_arriving_during_a_commit_share_the_next_one() -> None:
    committer = Committer()
    group: GroupCommit[int, int] = GroupCommit(committer.commit)
    committer.gate.clear()
    first = group.submit(1)
    await asyncio.sleep(0)  # the first commit is under way
    rest = [group.submit(n) for n in range(2, 30)]
    committer.gate.set()

    assert await asyncio.gather(first, *rest) == [n * 10 for n in range(1, 30)]
    assert committer.groups == [(0, [1]), (0, list(range(2, 30)))]


async def test_a_lone_item_is_committed_at_once() -> None:
    committer = Committer()
    group: GroupCommit[int, int] = GroupCommit(committer.commit)
    assert await asyncio.wait_for(group.submit(7), 1) == 70


async def test_groups_are_bounded() -> None:
    committer = Committer()
    group: GroupCommit[int, int] = GroupCommit(committer.commit, max_group=3)
    await asyncio.gather(*(group.submit(n) for n in range(7)))
    assert [len(items) for _, items in committer.groups] == [3, 3, 1]


async def test_while_one_lane_commits_another_takes_the_next_items() -> None:
    committer = Committer()
    group: GroupCommit[int, int] = GroupCommit(committer.commit, lanes=2)
    committer.gate.clear()
    first = group.submit(1)
    await asyncio.sleep(0)
    second = group.submit(2)
    await asyncio.sleep(0)
    committer.gate.set()
    await asyncio.gather(first, second)
    assert sorted(committer.groups) == [(0, [1]), (1, [2])]


async def test_items_pinned_to_the_first_lane_wait_for_it() -> None:
    committer = Committer()
    group: GroupCommit[int, int] = GroupCommit(committer.commit, lanes=2)
    committer.gate.clear()
    first = group.submit(1)
    await asyncio.sleep(0)
    pinned = group.submit(2, first_lane_only=True)
    free = group.submit(3)
    await asyncio.sleep(0)
    committer.gate.set()
    await asyncio.gather(first, pinned, free)
    assert (0, [2]) in committer.groups and (1, [3]) in committer.groups


async def test_an_item_the_commit_refuses_fails_alone() -> None:
    committer = Committer()
    group: GroupCommit[int, int] = GroupCommit(committer.commit)
    committer.gate.clear()
    first = group.submit(1)
    await asyncio.sleep(0)
    items = [group.submit(n) for n in (2, -3, 4)]
    committer.gate.set()

    results = await asyncio.gather(first, *items, return_exceptions=True)

    assert results[:2] == [10, 20] and results[3] == 40
    assert isinstance(results[2], ValueError)


async def test_flushed_returns_once_everything_submitted_is_committed() -> None:
    committer = Committer()
    group: GroupCommit[int, int] = GroupCommit(committer.commit)
    committer.gate.clear()
    for n in range(5):
        group.submit(n)
    flushing = asyncio.create_task(group.flushed())
    await asyncio.sleep(0.01)
    assert not flushing.done()
    committer.gate.set()
    await asyncio.wait_for(flushing, 1)
    assert sorted(item for _, items in committer.groups for item in items) == list(range(5))
