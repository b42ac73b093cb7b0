"""A private, throwaway PostgreSQL server for tests (and for the benchmarks).

    with ThrowawayPostgres() as pg:
        url = pg.create_database("test_1")   # postgresql+asyncpg://...

or ``pg = ThrowawayPostgres().start()`` ... ``pg.stop()``.

The server uses Debian's binaries under /usr/lib/postgresql/<major>/bin (the highest major
installed), listens on a free loopback port with trust authentication, keeps its data and
socket in a fresh temporary folder, and runs with durability off (tests), or with
``durable=True`` on PostgreSQL's durable defaults (fsync, synchronous_commit, full_page_writes;
benchmarks). ``settings`` adds server settings. ``stop()`` kills it and removes the folder; it
is idempotent and also runs at interpreter exit.

initdb and pg_ctl refuse to run as root, so as root they run as the ``postgres`` user.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Self

from tests.support.live_server import free_port

PG_ROOT = Path("/usr/lib/postgresql")
INITDB_ARGS = ["-A", "trust", "-E", "UTF8", "--locale=C", "-U", "postgres"]
# What a test server gives up: nothing it writes needs to survive a crash.
NOT_DURABLE = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
DEFAULT_SETTINGS = {"max_connections": "200"}


def find_bin_dir() -> Path:
    """Return the bin folder of the highest installed PostgreSQL major version."""
    candidates = [
        p.parent for p in PG_ROOT.glob("*/bin/postgres") if p.parent.parent.name.isdigit()
    ]
    if not candidates:
        raise RuntimeError(
            f"No PostgreSQL server binaries found under {PG_ROOT}/<major>/bin. "
            "Run `make test`, which installs PostgreSQL."
        )
    return max(candidates, key=lambda p: int(p.parent.name))


class ThrowawayPostgres:
    """A PostgreSQL server that lives only as long as a test or benchmark run."""

    def __init__(self, *, durable: bool = False, settings: Mapping[str, str] | None = None) -> None:
        self.bin_dir = find_bin_dir()
        self.durable = durable
        self.settings = {**DEFAULT_SETTINGS, **({} if durable else NOT_DURABLE), **(settings or {})}
        self.port: int | None = None
        self.folder: Path | None = None
        self._as_root = os.geteuid() == 0
        self._owner_pid = os.getpid()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        if self.folder is not None:
            return self
        # Under /tmp when root: a 0700 root-owned parent would block the postgres user.
        parent = "/tmp" if self._as_root else None
        self.folder = Path(tempfile.mkdtemp(prefix="throwaway-pg-", dir=parent))
        atexit.register(self._stop_at_exit)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        assert self.folder is not None
        sockets = self.folder / "sock"
        sockets.mkdir()
        if self._as_root:
            for path in (self.folder, sockets):
                shutil.chown(path, "postgres", "postgres")
        sync = [] if self.durable else ["--no-sync"]
        self._pg("initdb", "-D", self.data_dir, *INITDB_ARGS, *sync)
        settings = "".join(f" -c {name}={value}" for name, value in self.settings.items())
        # The port is only known to be free when probed; retry if another process grabbed it.
        for attempt in range(3):
            self.port = free_port()
            options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {sockets}{settings}"
            try:
                log = self.folder / "server.log"
                self._pg("pg_ctl", "-D", self.data_dir, "-l", log, "-w", "-o", options, "start")
                return
            except RuntimeError:
                if attempt == 2:
                    raise

    def stop(self) -> None:
        """Kill the server and remove its folder. Safe to call more than once."""
        if self.folder is None:
            return
        atexit.unregister(self._stop_at_exit)
        if (self.data_dir / "postmaster.pid").exists():
            self._pg("pg_ctl", "-D", self.data_dir, "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None
        self.port = None

    def _stop_at_exit(self) -> None:
        # A forked child inherits atexit hooks; only the process that started the server stops it.
        if os.getpid() == self._owner_pid:
            self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        assert self.folder is not None, "server not started"
        return self.folder / "data"

    @property
    def pid(self) -> int:
        """The process ID of the server's postmaster (its other processes are its children)."""
        return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])

    def url(self, database: str = "postgres", driver: str = "postgresql+asyncpg") -> str:
        assert self.port is not None, "server not started"
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def async_url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database."""
        return self.url()

    @property
    def dsn(self) -> str:
        """libpq/asyncpg DSN of the ``postgres`` database."""
        return self.url(driver="postgresql")

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy async URL."""
        quoted = '"' + name.replace('"', '""') + '"'
        psql = self.bin_dir / "psql"
        self._run(
            psql, "-Xq", "-v", "ON_ERROR_STOP=1", "-d", self.dsn, "-c", f"CREATE DATABASE {quoted}"
        )
        return self.url(name)

    # -- helpers -----------------------------------------------------------------------------

    def _pg(self, program: str, *args: object, check: bool = True) -> None:
        """Run a server-side program, as the postgres user when we are root."""
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_root else []
        self._run(*prefix, self.bin_dir / program, *args, check=check)

    def _run(self, *cmd: object, check: bool = True) -> None:
        # cwd: the postgres user may not be allowed into the caller's working folder.
        argv = [str(c) for c in cmd]
        result = subprocess.run(
            argv, cwd=self.folder or "/", capture_output=True, text=True, check=False
        )
        if check and result.returncode != 0:
            log = self.folder / "server.log" if self.folder else None
            tail = log.read_text()[-2000:] if log and log.exists() else ""
            raise RuntimeError(
                f"Command failed ({result.returncode}): {' '.join(argv)}\n"
                f"{result.stdout}{result.stderr}{tail}"
            )
