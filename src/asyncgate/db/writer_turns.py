"""Taking turns at SQLite's write lock across processes.

SQLite has one writer and no queue: a process that finds the write lock taken can only try
again later, and a process that writes back to back (the worker working through the queue)
wins nearly every race, leaving the API's accepts waiting for tens of milliseconds. So a
process that waits for the lock says so, and the worker lets it in before its next transaction:

- a writer that found the lock taken holds a shared ``flock`` on ``<database>-writers`` until
  it gets the lock;
- :meth:`WriterTurns.others_waiting` probes for an exclusive lock on the same file, without
  blocking, through a second open file (so that a waiting writer of its own process counts
  too).

The kernel releases a process's locks when it dies, so a crashed writer never leaves a mark.
The file is opened on first use, and again after :meth:`close` (an engine may be used again
after it was disposed).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class WriterTurns:
    def __init__(self, database_path: str) -> None:
        self._path = f"{database_path}-writers"
        self._files: tuple[int, int] | None = None
        self._waiters = 0
        self._marked = False

    def _open(self) -> tuple[int, int]:
        """The file descriptors of the mark and of the probe."""
        if self._files is None:
            mark = os.open(self._path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
            self._files = (mark, os.open(self._path, os.O_RDONLY | os.O_CLOEXEC))
        return self._files

    @contextmanager
    def waiting(self) -> Iterator[Callable[[], None]]:
        """While inside, this process counts as waiting once the yielded ``keep_marked`` has
        been called; call it before each wait (it retries a mark the probe of another process
        held off for an instant)."""
        self._waiters += 1
        try:
            yield self._keep_marked
        finally:
            self._waiters -= 1
            if not self._waiters and self._marked:
                fcntl.flock(self._open()[0], fcntl.LOCK_UN)
                self._marked = False

    def _keep_marked(self) -> None:
        if self._marked:
            return
        try:
            fcntl.flock(self._open()[0], fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        self._marked = True

    def others_waiting(self) -> bool:
        probe = self._open()[1]
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(probe, fcntl.LOCK_UN)
        return False

    def close(self) -> None:
        if self._files is not None:
            for descriptor in self._files:
                os.close(descriptor)
            self._files = None
            self._marked = False
