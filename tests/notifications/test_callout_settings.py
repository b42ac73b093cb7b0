"""``/notifications/callout-settings``: a tenant's delivery policy and signing secrets."""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime, timedelta

import httpx
import pytest

from asyncgate.app import create_app
from asyncgate.auth.roles import Role
from asyncgate.db.base import utcnow
from asyncgate.notifications.callout_settings import min_interval
from asyncgate.notifications.models import CalloutSettings
from tests.factories import make_client
from tests.notifications.api import (
    CALLOUT_SETTINGS,
    SIGNING_SECRET,
    assert_notifications_error,
    cells_containing,
)

DEFAULTS = {
    "maxAttempts": 3,
    "minIntervalMinutes": 30,
    "parseResponseContent": False,
    "signingSecretCreatedOn": None,
    "previousSigningSecretExpiresOn": None,
}


async def settings_of(client, tenant) -> dict:
    response = await client.get(CALLOUT_SETTINGS, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def stored_settings(database, tenant) -> CalloutSettings | None:
    async with database.read_transaction() as session:
        return await session.get(CalloutSettings, tenant.tenant_id)


class TestPolicy:
    async def test_a_new_tenant_has_zuoras_defaults(self, client, tenant, database):
        assert await settings_of(client, tenant) == DEFAULTS
        assert await stored_settings(database, tenant) is None

    async def test_the_services_defaults_apply_to_tenants_that_did_not_choose(
        self, settings, database, tenant
    ):
        custom = settings.model_copy(
            update={"callout_default_max_attempts": 5, "callout_default_min_interval_minutes": 1}
        )
        transport = httpx.ASGITransport(app=create_app(custom, database))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://asyncgate.test"
        ) as other:
            answered = await settings_of(other, tenant)

        assert (answered["maxAttempts"], answered["minIntervalMinutes"]) == (5, 1)

    async def test_a_change_sets_the_fields_sent_and_keeps_the_others(self, client, tenant):
        response = await client.put(
            CALLOUT_SETTINGS, json={"maxAttempts": 5}, headers=tenant.headers
        )

        assert response.status_code == 200, response.text
        assert response.json() == {**DEFAULTS, "maxAttempts": 5}
        changed = await client.put(
            CALLOUT_SETTINGS,
            json={"minIntervalMinutes": 1440, "parseResponseContent": True},
            headers=tenant.headers,
        )
        assert changed.json() == {
            **DEFAULTS,
            "maxAttempts": 5,
            "minIntervalMinutes": 1440,
            "parseResponseContent": True,
        }
        assert await settings_of(client, tenant) == changed.json()

    async def test_the_bounds_themselves_are_allowed(self, client, tenant):
        for change in ({"maxAttempts": 1, "minIntervalMinutes": 1}, {"maxAttempts": 5}):
            response = await client.put(CALLOUT_SETTINGS, json=change, headers=tenant.headers)
            assert response.status_code == 200, response.text

    @pytest.mark.parametrize(
        ("change", "category"),
        [
            ({"maxAttempts": 0}, 20),
            ({"maxAttempts": 6}, 20),
            ({"maxAttempts": "3"}, 20),
            ({"maxAttempts": None}, 20),
            ({"minIntervalMinutes": 0}, 20),
            ({"minIntervalMinutes": 1441}, 20),
            ({"minIntervalMinutes": 2.5}, 20),
            ({"parseResponseContent": "true"}, 20),
            ({"maxAttempts": 4, "retryEvery": 5}, 21),
        ],
        ids=str,
    )
    async def test_an_invalid_change_is_refused_and_changes_nothing(
        self, client, tenant, database, change, category
    ):
        response = await client.put(CALLOUT_SETTINGS, json=change, headers=tenant.headers)

        assert_notifications_error(response, 400, category)
        assert await settings_of(client, tenant) == DEFAULTS
        assert await stored_settings(database, tenant) is None

    async def test_tenants_have_their_own(self, client, tenant, other_tenant):
        await client.put(CALLOUT_SETTINGS, json={"maxAttempts": 1}, headers=tenant.headers)

        assert await settings_of(client, other_tenant) == DEFAULTS

    def test_the_interval_unit_scales_the_minutes(self):
        stored = CalloutSettings(min_interval_minutes=30)

        assert min_interval(stored, timedelta(minutes=1)) == timedelta(minutes=30)
        assert min_interval(stored, timedelta(seconds=1)) == timedelta(seconds=30)


class TestSigningSecret:
    async def test_is_made_in_standard_webhooks_form_and_shown_once(self, client, tenant):
        response = await client.post(SIGNING_SECRET, headers=tenant.headers)

        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert set(body) == {"secret", "createdOn", "previousSecretExpiresOn"}
        assert body["secret"].startswith("whsec_")
        assert len(base64.b64decode(body["secret"].removeprefix("whsec_"), validate=True)) == 32
        assert body["previousSecretExpiresOn"] is None
        answered = await settings_of(client, tenant)
        assert answered["signingSecretCreatedOn"] == body["createdOn"]
        assert body["secret"] not in str(answered)

    async def test_is_stored_sealed(self, client, app, tenant, database):
        secret = (await client.post(SIGNING_SECRET, headers=tenant.headers)).json()["secret"]

        assert await cells_containing(database, secret.removeprefix("whsec_")) == []
        stored = await stored_settings(database, tenant)
        assert app.state.secret_box.decrypt(stored.signing_secret_sealed) == secret

    async def test_a_rotation_keeps_the_old_secret_signing_for_the_grace_period(
        self, client, app, settings, tenant, database
    ):
        first = (await client.post(SIGNING_SECRET, headers=tenant.headers)).json()
        before = utcnow()

        second = (await client.post(SIGNING_SECRET, headers=tenant.headers)).json()

        assert second["secret"] != first["secret"]
        expires = datetime.fromisoformat(second["previousSecretExpiresOn"])
        grace = settings.callout_signing_grace
        assert before + grace <= expires <= utcnow() + grace
        answered = await settings_of(client, tenant)
        assert answered["signingSecretCreatedOn"] == second["createdOn"]
        assert answered["previousSigningSecretExpiresOn"] == second["previousSecretExpiresOn"]
        stored = await stored_settings(database, tenant)
        box = app.state.secret_box
        assert box.decrypt(stored.signing_secret_sealed) == second["secret"]
        assert box.decrypt(stored.previous_signing_secret_sealed) == first["secret"]

    async def test_rotating_again_drops_the_oldest(self, client, app, tenant, database):
        await client.post(SIGNING_SECRET, headers=tenant.headers)
        second = (await client.post(SIGNING_SECRET, headers=tenant.headers)).json()

        third = (await client.post(SIGNING_SECRET, headers=tenant.headers)).json()

        stored = await stored_settings(database, tenant)
        box = app.state.secret_box
        assert box.decrypt(stored.signing_secret_sealed) == third["secret"]
        assert box.decrypt(stored.previous_signing_secret_sealed) == second["secret"]

    async def test_concurrent_rotations_apply_one_after_the_other(
        self, client, app, tenant, database
    ):
        answers = await asyncio.gather(
            *(client.post(SIGNING_SECRET, headers=tenant.headers) for _ in range(3))
        )

        assert [answer.status_code for answer in answers] == [200] * 3
        secrets = [answer.json()["secret"] for answer in answers]
        stored = await stored_settings(database, tenant)
        box = app.state.secret_box
        current = box.decrypt(stored.signing_secret_sealed)
        previous = box.decrypt(stored.previous_signing_secret_sealed)
        assert current in secrets and previous in secrets and current != previous
        assert sum(answer.json()["previousSecretExpiresOn"] is None for answer in answers) == 1

    async def test_an_expired_previous_secret_is_not_reported(self, settings, database, tenant):
        no_grace = settings.model_copy(update={"callout_signing_grace": timedelta(0)})
        transport = httpx.ASGITransport(app=create_app(no_grace, database))
        async with httpx.AsyncClient(transport=transport, base_url="http://asyncgate.test") as api:
            await api.post(SIGNING_SECRET, headers=tenant.headers)
            rotated = (await api.post(SIGNING_SECRET, headers=tenant.headers)).json()
            answered = await settings_of(api, tenant)

        assert rotated["previousSecretExpiresOn"] is None
        assert answered["previousSigningSecretExpiresOn"] is None

    async def test_the_policy_is_kept_through_rotations(self, client, tenant):
        await client.put(CALLOUT_SETTINGS, json={"maxAttempts": 2}, headers=tenant.headers)

        await client.post(SIGNING_SECRET, headers=tenant.headers)

        assert (await settings_of(client, tenant))["maxAttempts"] == 2

    async def test_an_idempotency_key_is_refused_and_makes_no_secret(
        self, client, tenant, database
    ):
        headers = {**tenant.headers, "Idempotency-Key": "rotate-once"}

        response = await client.post(SIGNING_SECRET, headers=headers)

        assert_notifications_error(response, 400, category=20)
        assert await stored_settings(database, tenant) is None


class TestRoles:
    async def test_a_standard_user_may_read_but_not_change(self, client, tenant, database):
        user = await make_client(database, tenant, role=Role.STANDARD_USER)

        assert await settings_of(client, user) == DEFAULTS
        changed = await client.put(CALLOUT_SETTINGS, json={"maxAttempts": 1}, headers=user.headers)
        rotated = await client.post(SIGNING_SECRET, headers=user.headers)

        assert_notifications_error(changed, 403, category=10)
        assert_notifications_error(rotated, 403, category=10)
        assert await stored_settings(database, tenant) is None

    async def test_an_administrator_role_may_change_them(self, client, tenant, database):
        finance = await make_client(database, tenant, role=Role.FINANCE_ADMINISTRATOR)

        changed = await client.put(
            CALLOUT_SETTINGS, json={"maxAttempts": 1}, headers=finance.headers
        )
        rotated = await client.post(SIGNING_SECRET, headers=finance.headers)

        assert (changed.status_code, rotated.status_code) == (200, 200)
