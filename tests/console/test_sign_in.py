"""Signing in and out of the console, its session cookie, expiry and CSRF protection."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from asyncgate.app import create_app
from asyncgate.auth.models import User
from asyncgate.console.csrf import SignInTokens
from asyncgate.console.models import ConsoleSession
from asyncgate.db.base import utcnow
from tests.console.support import csrf_token, sign_in
from tests.factories import make_user

COOKIE = "__Host-asyncgate-console"
SIGN_IN_COOKIE = "__Host-asyncgate-console-sign-in"


async def _age_sessions(database, user, **columns) -> None:
    async with database.transaction() as session:
        await session.execute(
            update(ConsoleSession).where(ConsoleSession.user_id == user.user_id).values(**columns)
        )


class TestSignIn:
    async def test_a_user_signs_in_and_sees_who_they_are(self, console, admin):
        answer = await sign_in(console, admin)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console"
        page = await console.get("/console")
        assert page.status_code == 200
        assert admin.email in page.text

    async def test_the_session_cookie_is_secure_http_only_and_same_site(self, console, admin):
        answer = await sign_in(console, admin)
        cookie = next(
            value
            for name, value in answer.headers.multi_items()
            if name == "set-cookie" and value.startswith(COOKIE + "=")
        )
        attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "secure", "samesite=lax", "path=/"} <= attributes
        assert not any(part.startswith(("expires", "max-age")) for part in attributes)

    async def test_a_wrong_password_is_refused_without_saying_what_was_wrong(self, console, admin):
        answer = await sign_in(console, admin, password="not-the-password")
        assert answer.status_code == 401
        assert "Invalid tenant, email or password" in answer.text
        assert COOKIE not in console.cookies
        assert (await console.get("/console")).status_code == 303

    async def test_an_unknown_tenant_is_refused_alike(self, console, admin):
        answer = await sign_in(console, admin, tenant="no-such-tenant")
        assert answer.status_code == 401
        assert "Invalid tenant, email or password" in answer.text

    async def test_a_visitor_signs_in_and_comes_back_to_the_page_asked_for(self, console, admin):
        asked = await console.get("/console/requests?state=failed")
        assert asked.status_code == 303
        form = asked.headers["location"]
        answer = await sign_in(console, admin, form=form, next="/console/requests?state=failed")
        assert answer.headers["location"] == "/console/requests?state=failed"

    async def test_sign_in_never_sends_anyone_to_another_site(self, console, admin):
        form = await console.get("/console/sign-in?next=//evil.example/console")
        assert 'name="next" value="/console"' in form.text
        answer = await sign_in(console, admin, next="https://evil.example/")
        assert answer.headers["location"] == "/console"

    async def test_a_disabled_user_cannot_sign_in_and_their_sessions_end(
        self, console, admin, database
    ):
        await sign_in(console, admin)
        async with database.transaction() as session:
            await session.execute(update(User).where(User.id == admin.user_id).values(active=False))
        assert (await console.get("/console")).status_code == 303
        assert (await sign_in(console, admin)).status_code == 401


async def _sessions_of(database, user) -> int:
    async with database.read_transaction() as session:
        return await session.scalar(
            select(func.count())
            .select_from(ConsoleSession)
            .where(ConsoleSession.user_id == user.user_id)
        )


async def _post_sign_in(console, user, token: str) -> httpx.Response:
    return await console.post(
        "/console/sign-in",
        data={
            "csrf_token": token,
            "tenant": user.tenant_name,
            "email": user.email,
            "password": user.password,
        },
    )


class TestSignInToken:
    """The sign-in form's token is the HMAC of its cookie's nonce under the server's key: a
    cookie and a token of anyone else's making do not match, whoever set the cookie."""

    async def test_the_form_carries_a_token_that_is_not_its_cookie(self, console):
        page = await console.get("/console/sign-in")
        token = csrf_token(page)
        assert console.cookies[SIGN_IN_COOKIE] != token

    @pytest.mark.parametrize("value", ["x", "attacker-chosen-" + "a" * 43])
    async def test_a_cookie_and_an_equal_token_of_anyones_choosing_are_refused(
        self, console, admin, database, value
    ):
        console.cookies.set(SIGN_IN_COOKIE, value)
        answer = await _post_sign_in(console, admin, value)
        assert answer.status_code == 403
        assert "did not come from this console" in answer.text
        assert COOKIE not in console.cookies
        assert await _sessions_of(database, admin) == 0

    async def test_the_sign_in_cookie_sent_back_as_the_token_is_refused(
        self, console, admin, database
    ):
        await console.get("/console/sign-in")
        answer = await _post_sign_in(console, admin, console.cookies[SIGN_IN_COOKIE])
        assert answer.status_code == 403
        assert await _sessions_of(database, admin) == 0

    async def test_a_pair_made_with_another_key_is_refused(self, console, admin, database):
        nonce, token = SignInTokens.from_secret_key("not-this-servers-key").issue()
        console.cookies.set(SIGN_IN_COOKIE, nonce)
        answer = await _post_sign_in(console, admin, token)
        assert answer.status_code == 403
        assert await _sessions_of(database, admin) == 0

    async def test_a_token_goes_with_its_own_cookie_only(self, console, admin, database):
        earlier = csrf_token(await console.get("/console/sign-in"))
        await console.get("/console/sign-in")  # a second form: a new cookie
        assert (await _post_sign_in(console, admin, earlier)).status_code == 403
        assert await _sessions_of(database, admin) == 0

    async def test_a_token_of_any_characters_is_refused_as_a_wrong_one(self, console, admin):
        await console.get("/console/sign-in")
        assert (await _post_sign_in(console, admin, "jeton-signé-✓")).status_code == 403

    async def test_a_genuine_form_signs_in_and_its_cookie_is_cleared(
        self, console, admin, database
    ):
        answer = await sign_in(console, admin)
        assert answer.status_code == 303
        assert COOKIE in console.cookies
        assert SIGN_IN_COOKIE not in console.cookies
        assert await _sessions_of(database, admin) == 1

    async def test_a_form_one_process_served_is_accepted_by_another(
        self, console, admin, settings, database
    ):
        """Every process of an installation shares the server's secret key."""
        token = csrf_token(await console.get("/console/sign-in"))
        other = create_app(settings, database)
        try:
            transport = httpx.ASGITransport(app=other)
            async with httpx.AsyncClient(
                transport=transport, base_url="https://asyncgate.test", cookies=console.cookies
            ) as elsewhere:
                answer = await _post_sign_in(elsewhere, admin, token)
        finally:
            await other.state.rate_limits.close()
        assert answer.status_code == 303
        assert await _sessions_of(database, admin) == 1


class TestSignOut:
    async def test_signing_out_ends_the_session_for_good(self, as_admin):
        cookie = as_admin.cookies[COOKIE]
        page = await as_admin.get("/console")
        answer = await as_admin.post("/console/sign-out", data={"csrf_token": csrf_token(page)})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/sign-in"
        as_admin.cookies.set(COOKIE, cookie)  # a copy of the cookie kept from before
        assert (await as_admin.get("/console")).status_code == 303


class TestExpiry:
    async def test_an_idle_session_ends(self, as_admin, admin, database, settings):
        idle = settings.console_session_idle_timeout
        await _age_sessions(database, admin, last_seen_at=utcnow() - idle)
        assert (await as_admin.get("/console")).status_code == 303

    async def test_a_session_ends_at_its_lifetime_however_active(self, as_admin, admin, database):
        await _age_sessions(database, admin, expires_at=utcnow() - timedelta(seconds=1))
        assert (await as_admin.get("/console")).status_code == 303

    async def test_reading_a_page_keeps_a_session_alive(self, as_admin, admin, database, settings):
        idle = settings.console_session_idle_timeout
        almost_idle = utcnow() - idle + timedelta(seconds=30)
        await _age_sessions(database, admin, last_seen_at=almost_idle)
        assert (await as_admin.get("/console")).status_code == 200
        await _age_sessions(database, admin, expires_at=utcnow() + timedelta(hours=1))
        # Had the read not pushed the idle end back, the session would have ended by now.
        async with database.read_transaction() as session:
            seen = await session.scalar(
                ConsoleSession.__table__.select()
                .with_only_columns(ConsoleSession.last_seen_at)
                .where(ConsoleSession.user_id == admin.user_id)
            )
        assert seen > almost_idle + timedelta(seconds=20)


class TestSignInThrottle:
    async def test_after_five_failures_even_the_right_password_waits(
        self, console, database, tenant
    ):
        user = await make_user(database, tenant)
        for _ in range(5):
            assert (await sign_in(console, user, password="wrong-password")).status_code == 401
        refused = await sign_in(console, user)
        assert refused.status_code == 429
        assert "Too many failed sign-ins" in refused.text
        assert int(refused.headers["retry-after"]) > 0
        assert COOKIE not in console.cookies


class TestCsrf:
    async def test_a_sign_in_without_its_token_is_refused(self, console, admin):
        await console.get("/console/sign-in")
        answer = await console.post(
            "/console/sign-in",
            data={"tenant": admin.tenant_name, "email": admin.email, "password": admin.password},
        )
        assert answer.status_code == 403
        assert COOKIE not in console.cookies

    async def test_a_form_without_the_sessions_token_changes_nothing(self, as_admin):
        answer = await as_admin.post("/console/sign-out", data={})
        assert answer.status_code == 403
        assert "did not come from this console" in answer.text
        assert (await as_admin.get("/console")).status_code == 200

    async def test_another_sessions_token_is_no_token(self, as_admin, app, standard_user):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="https://asyncgate.test"
        ) as other:
            await sign_in(other, standard_user)
            their_token = csrf_token(await other.get("/console"))
        answer = await as_admin.post("/console/sign-out", data={"csrf_token": their_token})
        assert answer.status_code == 403

    async def test_a_form_sent_from_another_site_is_refused(self, as_admin):
        token = csrf_token(await as_admin.get("/console"))
        answer = await as_admin.post(
            "/console/sign-out",
            data={"csrf_token": token},
            headers={"Origin": "https://evil.example"},
        )
        assert answer.status_code == 403
        assert (await as_admin.get("/console")).status_code == 200
