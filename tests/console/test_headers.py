"""The security headers every console answer carries: pages, redirects, refusals, unknown
paths and methods, the stylesheet, and the page an unexpected error shows."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from asyncgate.app import create_app
from asyncgate.console import headers
from asyncgate.console.dependencies import pages_router
from asyncgate.console.headers import SECURITY_HEADERS
from tests.console.support import sign_in

CONSOLE = Path(headers.__file__).parent


def assert_secured(answer: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get_list(name) == [value], (name, answer.status_code)


async def post_over_the_limit(console: httpx.AsyncClient, settings) -> httpx.Response:
    """A sign-in form one byte over the body limit."""
    return await console.post(
        "/console/sign-in",
        content=b"a" * (settings.max_body_bytes + 1),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


@pytest.fixture
async def failing_console(settings, database, admin) -> AsyncIterator[httpx.AsyncClient]:
    """An administrator signed in to a console with one more page, which fails."""
    app = create_app(settings, database)
    failing = pages_router("/failing")

    @failing.get("")
    async def fail() -> None:
        raise RuntimeError("a page that fails")

    app.include_router(failing)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="https://asyncgate.test"
        ) as client:
            assert (await sign_in(client, admin)).status_code == 303
            yield client
    finally:
        await app.state.rate_limits.close()


class TestContentSecurityPolicy:
    async def test_the_policy_allows_no_script(self, console):
        policy = (await console.get("/console/sign-in")).headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src" not in policy

    def test_the_console_ships_no_script(self):
        """What the policy above says holds: a script added here would not run."""
        assert not list((CONSOLE / "static").rglob("*.js"))
        for template in (CONSOLE / "templates").rglob("*.html"):
            assert "<script" not in template.read_text().lower(), template


class TestEveryAnswerIsSecured:
    @pytest.mark.parametrize(
        ("method", "path", "options", "status"),
        [
            ("GET", "/console/sign-in", {}, 200),
            ("GET", "/console/requests", {}, 303),
            ("GET", "/console/no-such-page", {}, 404),
            ("GET", "/console/static/no-such.css", {}, 404),
            ("GET", "/console/static/console.css", {}, 200),
            ("PUT", "/console/sign-in", {}, 405),
            ("DELETE", "/console/requests", {}, 405),
            ("POST", "/console/sign-in", {"data": {"csrf_token": "x"}}, 403),
            (
                "POST",
                "/console/sign-in",
                {"data": {}, "headers": {"Origin": "https://evil.example"}},
                403,
            ),
            ("GET", "/console/requests%00", {}, 400),
            ("GET", "/console/requests?page=%00", {}, 400),
            ("GET", "/console/sign-in", {"headers": {"Zuora-Track-Id": "a:b"}}, 400),
        ],
        ids=[
            "sign-in page",
            "redirect to sign in",
            "unknown page",
            "unknown static file",
            "stylesheet",
            "method not taken",
            "method not taken by a page",
            "forged sign-in",
            "form from another site",
            "NUL in the path",
            "NUL in the query",
            "invalid track ID",
        ],
    )
    async def test_without_a_session(self, console, method, path, options, status):
        answer = await console.request(method, path, **options)
        assert answer.status_code == status
        assert_secured(answer)

    async def test_with_a_session(self, as_admin):
        assert_secured(await as_admin.get("/console"))
        assert_secured(await as_admin.get("/console/no-such-page"))
        refused = await as_admin.post("/console/sign-out", data={})
        assert refused.status_code == 403
        assert_secured(refused)

    async def test_a_body_over_the_limit(self, console, settings):
        answer = await post_over_the_limit(console, settings)
        assert answer.status_code == 413
        assert_secured(answer)

    async def test_a_refused_sign_in_keeps_its_own_headers_too(self, console, admin):
        answer = await sign_in(console, admin, password="not-the-password")
        assert answer.status_code == 401
        assert_secured(answer)

    async def test_the_apis_answers_are_left_alone(self, console):
        answer = await console.get("/v1/no-such-resource")
        assert "content-security-policy" not in answer.headers


class TestRefusalsAreTheErrorPage:
    """A browser is shown the console's page, with the status, not the API's JSON envelope."""

    @pytest.mark.parametrize(
        ("method", "path", "options", "status", "heading"),
        [
            ("GET", "/console/no-such-page", {}, 404, "Not found"),
            ("GET", "/console/static/no-such.css", {}, 404, "Not found"),
            ("DELETE", "/console/requests", {}, 405, "Refused"),
            ("GET", "/console/requests%00", {}, 400, "Refused"),
            ("GET", "/console/sign-in", {"headers": {"Zuora-Track-Id": "a:b"}}, 400, "Refused"),
        ],
        ids=["unknown page", "unknown static file", "method", "NUL in the path", "track ID"],
    )
    async def test_without_a_session(self, console, method, path, options, status, heading):
        answer = await console.request(method, path, **options)
        assert answer.status_code == status
        assert answer.headers["content-type"].startswith("text/html")
        assert f"<h1>{heading}</h1>" in answer.text

    async def test_a_method_no_page_takes_is_answered_with_those_it_takes(self, console):
        answer = await console.delete("/console/requests")
        assert answer.headers["allow"] == "GET, HEAD"

    async def test_a_body_over_the_limit(self, console, settings):
        answer = await post_over_the_limit(console, settings)
        assert answer.status_code == 413
        assert answer.headers["content-type"].startswith("text/html")

    async def test_signed_in_too(self, as_admin):
        answer = await as_admin.get("/console/no-such-page")
        assert answer.status_code == 404
        assert "<h1>Not found</h1>" in answer.text


class TestUnexpectedErrors:
    async def test_an_error_shows_the_consoles_page_with_the_headers(self, failing_console, caplog):
        with caplog.at_level(logging.ERROR, logger="asyncgate"):
            answer = await failing_console.get("/console/failing")
        assert answer.status_code == 500
        assert answer.headers["content-type"].startswith("text/html")
        assert "Something went wrong" in answer.text
        assert "quote processId" in answer.text
        assert_secured(answer)
        assert "unhandled error in GET /console/failing" in caplog.text
        # The console goes on as before.
        assert (await failing_console.get("/console")).status_code == 200

    async def test_when_the_error_page_fails_too_its_words_still_come_secured(
        self, failing_console, monkeypatch
    ):
        def broken(*_args: object) -> None:
            raise RuntimeError("the error page fails")

        monkeypatch.setattr(headers, "error_page", broken)
        answer = await failing_console.get("/console/failing")
        assert answer.status_code == 500
        assert "quote processId" in answer.text
        assert_secured(answer)
