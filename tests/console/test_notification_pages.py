"""Settings > Notifications in the console: the forms save through the API's own service, and
its refusals show beside the fields."""

from __future__ import annotations

import re

from tests.console.support import csrf_token, submit
from tests.notifications.api import DEFINITIONS, PUBLIC_URL, create_definition

NEW = "/console/settings/notifications/new"
LIST = "/console/settings/notifications"
SETTINGS = "/console/settings/callouts"


def seed_form(**overrides: str) -> dict[str, str]:
    """The seed's steps: Related Event, Name, Active, Delivery Options > Callout, Base URL,
    Http Method."""
    return {
        "event_type_name": "Async Request Succeeded",
        "name": "Callout for Async Request Succeeded",
        "active": "on",
        "callout_active": "on",
        "callout_baseurl": PUBLIC_URL,
        "http_method": "POST",
        "callout_retry": "on",
        **overrides,
    }


async def definitions_of(client, tenant) -> list[dict]:
    answer = await client.get(DEFINITIONS, headers=tenant.headers)
    return answer.json()["data"]


def field_error(page, name: str) -> str:
    found = re.search(rf'id="{name}-error" role="alert">([^<]*)<', page.text)
    assert found, f"no error beside {name}:\n{page.text}"
    return found.group(1)


class TestAddNewNotification:
    async def test_an_administrator_adds_one_and_the_api_serves_it(self, as_admin, client, tenant):
        form = seed_form(
            required_auth="on",
            username="receiver",
            password="receiver-password",
            domain="example_domain",
            preemptive="on",
        )
        answer = await submit(as_admin, NEW, NEW, **form)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"{LIST}?notice=created"
        listed = await as_admin.get(answer.headers["location"])
        assert "The notification was created." in listed.text
        assert "Callout for Async Request Succeeded" in listed.text
        (stored,) = await definitions_of(client, tenant)
        assert stored["eventTypeName"] == "Async Request Succeeded"
        assert stored["active"] is True and stored["calloutActive"] is True
        callout = stored["callout"]
        assert callout["calloutBaseurl"] == PUBLIC_URL and callout["httpMethod"] == "POST"
        assert callout["requiredAuth"] is True
        assert callout["calloutAuth"] == {
            "username": "receiver",
            "domain": "example_domain",
            "preemptive": True,
        }

    async def test_an_http_url_is_refused_beside_the_base_url(self, as_admin, client, tenant):
        answer = await submit(
            as_admin, NEW, NEW, **seed_form(callout_baseurl="http://93.184.215.14/in")
        )
        assert answer.status_code == 400
        assert "must start with https://" in field_error(answer, "callout_baseurl")
        assert 'value="http://93.184.215.14/in"' in answer.text  # what was typed stays
        assert await definitions_of(client, tenant) == []

    async def test_a_url_with_a_port_is_refused_beside_the_base_url(self, as_admin, client, tenant):
        answer = await submit(
            as_admin, NEW, NEW, **seed_form(callout_baseurl="https://93.184.215.14:8443/in")
        )
        assert answer.status_code == 400
        assert "must not name a port" in field_error(answer, "callout_baseurl")
        assert await definitions_of(client, tenant) == []

    async def test_a_missing_name_is_refused_beside_the_name(self, as_admin):
        answer = await submit(as_admin, NEW, NEW, **seed_form(name=""))
        assert answer.status_code == 400
        assert field_error(answer, "name") == "This field is required"

    async def test_credentials_are_required_when_authentication_is(self, as_admin):
        answer = await submit(as_admin, NEW, NEW, **seed_form(required_auth="on"))
        assert answer.status_code == 400
        assert "username and a password" in field_error(answer, "password")

    async def test_a_taken_name_is_refused_beside_the_name(self, as_admin, client, tenant):
        await create_definition(client, tenant, name="Taken")
        answer = await submit(as_admin, NEW, NEW, **seed_form(name="Taken"))
        assert answer.status_code == 400
        assert "already exists" in field_error(answer, "name")


class TestChangingADefinition:
    async def test_an_edit_keeps_the_stored_password_when_left_blank(
        self, as_admin, client, tenant
    ):
        created = await create_definition(client, tenant)
        page = f"{LIST}/{created['id']}"
        shown = await as_admin.get(page)
        assert "receiver-password" not in shown.text
        answer = await submit(
            as_admin,
            page,
            page,
            **seed_form(
                name="Renamed",
                callout_baseurl=PUBLIC_URL + "/v2",
                http_method="PUT",
                required_auth="on",
                username="receiver",
            ),
        )
        assert answer.status_code == 303, answer.text
        (stored,) = await definitions_of(client, tenant)
        assert stored["name"] == "Renamed"
        assert stored["callout"]["calloutBaseurl"] == PUBLIC_URL + "/v2"
        assert stored["callout"]["httpMethod"] == "PUT"
        assert stored["callout"]["requiredAuth"] is True  # the stored password still serves

    async def test_deactivate_then_delete(self, as_admin, client, tenant):
        created = await create_definition(client, tenant)
        base = f"{LIST}/{created['id']}"
        answer = await submit(as_admin, LIST, base + "/active", active="false")
        assert answer.headers["location"] == f"{LIST}?notice=deactivated"
        (stored,) = await definitions_of(client, tenant)
        assert stored["active"] is False
        answer = await submit(as_admin, LIST, base + "/delete")
        assert answer.headers["location"] == f"{LIST}?notice=deleted"
        assert await definitions_of(client, tenant) == []

    async def test_another_tenants_definition_is_not_found(self, as_admin, client, other_tenant):
        theirs = await create_definition(client, other_tenant)
        assert (await as_admin.get(f"{LIST}/{theirs['id']}")).status_code == 404
        answer = await submit(as_admin, LIST, f"{LIST}/{theirs['id']}/delete")
        assert answer.status_code == 404
        assert len(await definitions_of(client, other_tenant)) == 1


class TestCalloutSettings:
    async def test_an_administrator_changes_them(self, as_admin, client, tenant):
        answer = await submit(
            as_admin,
            SETTINGS,
            SETTINGS,
            max_attempts="5",
            min_interval_minutes="2",
            parse_response_content="on",
        )
        assert answer.status_code == 303
        stored = (
            await client.get("/notifications/callout-settings", headers=tenant.headers)
        ).json()
        assert stored["maxAttempts"] == 5
        assert stored["minIntervalMinutes"] == 2
        assert stored["parseResponseContent"] is True

    async def test_out_of_range_values_are_refused_beside_their_fields(self, as_admin):
        answer = await submit(
            as_admin, SETTINGS, SETTINGS, max_attempts="9", min_interval_minutes="soon"
        )
        assert answer.status_code == 400
        assert field_error(answer, "min_interval_minutes") == "Enter a whole number"
        answer = await submit(
            as_admin, SETTINGS, SETTINGS, max_attempts="9", min_interval_minutes="1"
        )
        assert "less than or equal to 5" in field_error(answer, "max_attempts")

    async def test_a_new_signing_secret_is_shown_once(self, as_admin, client, tenant):
        answer = await submit(as_admin, SETTINGS, SETTINGS + "/signing-secret")
        assert answer.status_code == 200
        secret = re.search(r'id="new-secret">(whsec_[^<]+)<', answer.text).group(1)
        assert answer.headers["cache-control"] == "no-store"
        again = await as_admin.get(SETTINGS)
        assert secret not in again.text
        assert "Rotate the signing secret" in again.text
        stored = (
            await client.get("/notifications/callout-settings", headers=tenant.headers)
        ).json()
        assert stored["signingSecretCreatedOn"] is not None


class TestStandardUser:
    async def test_sees_definitions_but_no_forms_or_buttons(self, as_standard_user, client, tenant):
        created = await create_definition(client, tenant)
        listed = await as_standard_user.get(LIST)
        assert created["name"] in listed.text
        assert "Add New Notification" not in listed.text
        assert "<button" not in listed.text.split("</header>")[1]
        shown = await as_standard_user.get(f"{LIST}/{created['id']}")
        assert shown.status_code == 200
        assert "<fieldset disabled>" in shown.text
        assert "csrf_token" not in shown.text.split("</header>")[1]
        settings_page = await as_standard_user.get(SETTINGS)
        assert "<button" not in settings_page.text.split("</header>")[1]

    async def test_every_change_is_refused_with_a_403(self, as_standard_user, client, tenant):
        created = await create_definition(client, tenant)
        token = csrf_token(await as_standard_user.get(LIST))
        base = f"{LIST}/{created['id']}"
        for action, fields in [
            (NEW, seed_form()),
            (base, seed_form(name="Renamed")),
            (base + "/active", {"active": "false"}),
            (base + "/delete", {}),
            (SETTINGS, {"max_attempts": "1", "min_interval_minutes": "1"}),
            (SETTINGS + "/signing-secret", {}),
        ]:
            answer = await as_standard_user.post(action, data={"csrf_token": token, **fields})
            assert answer.status_code == 403, action
            assert "administrator role" in answer.text
        assert (await as_standard_user.get(NEW)).status_code == 403
        (stored,) = await definitions_of(client, tenant)
        assert stored["name"] == created["name"] and stored["active"] is True


class TestForgedForms:
    async def test_a_form_without_its_token_is_refused_and_changes_nothing(
        self, as_admin, client, tenant
    ):
        created = await create_definition(client, tenant)
        for action, fields in [
            (NEW, seed_form(name="Forged")),
            (f"{LIST}/{created['id']}/delete", {}),
        ]:
            answer = await as_admin.post(action, data=fields)
            assert answer.status_code == 403
        assert [d["name"] for d in await definitions_of(client, tenant)] == [created["name"]]
