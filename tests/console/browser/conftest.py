"""The console in a real browser: Debian's Chromium driven by Playwright, against a real
``asyncgate serve`` whose callouts reach a real HTTPS receiver.

One server and one browser per test process; each test gets a fresh browser context (its own
cookies). Playwright's asyncio API (pytest-playwright-asyncio), on the test run's one event
loop: the sync API would hold an event loop running in the test process for as long as the
browser lives, and no asyncio test of the same process could run after it. The server serves
the console over plain HTTP on loopback, so its cookies are not marked Secure there
(``ASYNCGATE_CONSOLE_SECURE_COOKIES=false``); its callout rules are the strict ones but for
loopback addresses, so the form's inline errors for ``http://`` and for a port are the real
ones. Screenshots of every page go to ``test-artifacts/console/``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import trustme
from playwright.async_api import Page, expect

from tests.support.live_server import LiveServer, running_server
from tests.support.receiver import Receiver, receiver_on_port_443

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying a network that is not there.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "console-admin-password"
VIEWER_EMAIL = "viewer@example.com"
VIEWER_PASSWORD = "console-viewer-password"
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "console"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs Chromium at {CHROMIUM} (scripts/ensure-system-packages.sh)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def console_receiver(tls_ca: trustme.CA) -> Iterator[Receiver]:
    with receiver_on_port_443(tls_ca, 3) as receiver:
        yield receiver


@pytest.fixture(scope="session")
def console_server(
    fresh_database_url: Callable[[str], str],
    tmp_path_factory: pytest.TempPathFactory,
    tls_ca_bundle: Path,
) -> Iterator[LiveServer]:
    with running_server(
        tmp_path_factory.mktemp("console-server"),
        fresh_database_url("asyncgate_console"),
        ASYNCGATE_BOOTSTRAP_ADMIN_EMAIL=ADMIN_EMAIL,
        ASYNCGATE_BOOTSTRAP_ADMIN_PASSWORD=ADMIN_PASSWORD,
        ASYNCGATE_CONSOLE_SECURE_COOKIES="false",
        ASYNCGATE_CALLOUT_ALLOW_PRIVATE_ADDRESSES="true",
        ASYNCGATE_CALLOUT_CA_BUNDLE=str(tls_ca_bundle),
    ) as server:
        yield server


@pytest.fixture(scope="session")
def viewer(console_server: LiveServer) -> str:
    """A Standard user of tenant ``default``, made as an operator would; their email."""
    command = [
        str(Path(sys.executable).parent / "asyncgate"),
        *("users", "create", "--tenant", "default", "--email", VIEWER_EMAIL),
        *("--role", "Standard user", "--password-stdin"),
    ]
    made = subprocess.run(
        command,
        check=False,
        env=console_server.environment,
        cwd=console_server.log_path.parent,
        input=VIEWER_PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    return VIEWER_EMAIL


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict, console_server: LiveServer) -> dict:
    return {**browser_context_args, "base_url": console_server.base_url}


@pytest.fixture(scope="session")
def api(console_server: LiveServer) -> Iterator[httpx.Client]:
    """The API of the server, as the bootstrap OAuth client of tenant ``default``."""
    with httpx.Client(base_url=console_server.base_url, timeout=10) as client:
        token = client.post(
            "/oauth/token",
            data={
                "client_id": console_server.client_id,
                "client_secret": console_server.client_secret,
                "grant_type": "client_credentials",
            },
        )
        assert token.status_code == 200, token.text
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield client


@pytest.fixture(scope="session")
def screenshot() -> Callable[[Page, str], Awaitable[None]]:
    """``await screenshot(page, "name")`` keeps the whole page as
    ``test-artifacts/console/name.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    async def take(page: Page, name: str) -> None:
        await page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

    return take


async def sign_in(page: Page, email: str, password: str) -> None:
    await page.goto("/console")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("header .who")).to_contain_text(email)


@pytest.fixture
async def admin_page(page: Page) -> Page:
    await sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    return page
