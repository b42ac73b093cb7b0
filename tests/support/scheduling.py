"""How ``pytest -n`` spreads the tests over its test processes (``tests/conftest.py`` installs
it for xdist's default ``--dist load``).

As ``load`` does, a test goes to whichever test process is free, one at a time, except the
tests that share what is costly to set up once per test process or once per module (a server,
a browser, the Zuora SDK's import): each such group goes whole to one process, so that what it
shares is set up once in the run rather than once in each process. Larger groups go first
(xdist's scope reordering); of the other tests, those that start processes of their own come
first (``tests/conftest.py`` orders them), so that no long test is left to run alone at the end.

xdist's own ``--dist loadgroup`` cannot do this: it names a test's group in the test's node id,
which pytest 9.2 no longer lets it change (pytest-dev/pytest-xdist#1386).
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling

# Node-id prefixes (a folder, a file or a class) and the group of their tests; the first that
# matches counts.
SHARED = (
    # ``live_server`` (tests/support/live_service.py), and the Zuora SDK, which takes some 20 s
    # of CPU to import (tests/e2e/sdk.py): the tests that use either.
    ("tests/conformance/", "live_server and the SDK"),
    ("tests/e2e/test_sdk_", "live_server and the SDK"),
    ("tests/e2e/test_callouts.py", "live_server and the SDK"),
    ("tests/asyncreq/test_jobs.py::test_a_preview_jobs_", "live_server and the SDK"),
    # The console's server and Chromium (tests/console/browser/conftest.py).
    ("tests/console/browser/", "console_server"),
    # Module-scoped: the database the commands share, the serve processes tests only observe,
    # and the scale-out deployment.
    ("tests/cli/test_cli.py", "cli"),
    ("tests/cli/test_serve_workers.py::TestServeWithWorkers", "start_observed_serve"),
    ("tests/e2e/test_crash_safety.py::TestSeparateWorkers", "scale_out"),
)


def group_of(nodeid: str) -> str:
    """The group of a test: a shared one, or the test alone."""
    for prefix, group in SHARED:
        if nodeid.startswith(prefix):
            return group
    return nodeid


class SharedProcessesScheduling(LoadScopeScheduling):
    def _split_scope(self, nodeid: str) -> str:
        return group_of(nodeid)
