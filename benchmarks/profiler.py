"""Optional sampling profiles of the server during each phase (``run.py --profile DIR``).

Uses py-spy, which is not a project dependency: install it into the virtual environment to
profile (``.venv/bin/pip install py-spy``). Each phase leaves ``<phase>.txt`` (collapsed stacks,
one thread per root, for grepping and scripts) in the folder.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

SAMPLES_PER_SECOND = 200


def find_py_spy() -> str:
    found = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if found is None:
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    return found


class PhaseProfiler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.py_spy = find_py_spy()
        folder.mkdir(parents=True, exist_ok=True)

    def start(self, pid: int, phase: str) -> subprocess.Popen:
        name = re.sub(r"[^a-z0-9]+", "-", phase.lower()).strip("-")
        command = [
            self.py_spy,
            "record",
            *("--pid", str(pid), "--rate", str(SAMPLES_PER_SECOND)),
            *("--format", "raw", "--threads"),
            *("--output", str(self.folder / f"{name}.txt")),
        ]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @staticmethod
    def stop(recorder: subprocess.Popen) -> None:
        recorder.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        recorder.wait(timeout=30)


def summarize(path: Path, top: int = 15) -> str:
    """Where the server's event loop thread spent its busy samples, by package (leaf frame)."""
    packages: dict[str, int] = {}
    busy = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if "MainThread" not in frames[0] or "Runner.run (asyncio" in frames[-1]:
            continue  # other threads, or the loop waiting for events
        busy += int(count)
        where = re.search(r"\(([^)]*)\)$", frames[-1])
        location = where.group(1) if where else frames[-1]
        package = re.sub(r"^.*site-packages/", "", location).split(":")[0]
        package = "/".join(package.split("/")[:2]) if "/" in package else package
        packages[package] = packages.get(package, 0) + int(count)
    lines = [f"{busy} busy samples of the event loop thread, by the package of the leaf frame:"]
    for package, count in sorted(packages.items(), key=lambda item: -item[1])[:top]:
        lines.append(f"  {count / busy:6.1%}  {package}")
    return "\n".join(lines)


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        print(f"{argument}\n{summarize(Path(argument))}\n")
