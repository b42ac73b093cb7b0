"""``/notifications/notification-definitions``: what a client of the API sees."""

from __future__ import annotations

import asyncio
import ipaddress
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from asyncgate.app import create_app
from asyncgate.asyncreq.models import AsyncRequest
from asyncgate.auth.roles import ADMINISTRATOR_ROLES, Role
from asyncgate.notifications import urls
from asyncgate.notifications.models import Callout
from tests.factories import make_client
from tests.notifications.api import (
    DEFINITIONS,
    FAILED,
    PUBLIC_URL,
    SUCCEEDED,
    assert_notifications_error,
    callout_body,
    cells_containing,
    create_definition,
    definition_body,
    definitions_of,
    get_definition,
    profiles_of,
)

OBJECT_ID = re.compile(r"^[0-9a-f]{32}$")
UTC_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
DEFINITION_KEYS = {
    "id",
    "name",
    "description",
    "eventTypeName",
    "eventTypeNamespace",
    "active",
    "calloutActive",
    "emailActive",
    "communicationProfileId",
    "callout",
    "filterRule",
    "filterRuleParams",
    "emailTemplateId",
    "associatedAccount",
    "createdBy",
    "createdOn",
    "updatedBy",
    "updatedOn",
}
# The SDK's filter rule, with one parameter the condition names.
FILTER_RULE = {
    "condition": "Request.Method == method",
    "description": "POST requests only",
    "parameters": {
        "method": {
            "description": "The request's method",
            "displayName": "Method",
            "options": ["POST", "PUT"],
            "valueType": "STRING",
        }
    },
}
DEFINITION_EXTRAS = {
    "filterRule": FILTER_RULE,
    "filterRuleParams": {"method": "POST"},
    "emailTemplateId": "2c92c0f9694b8a91016950e0c2d01e8a",
    "associatedAccount": "ParentAccount.Id",
}


class TestCreate:
    async def test_answers_the_definition_with_its_callout_and_no_password(self, client, tenant):
        response = await client.post(DEFINITIONS, json=definition_body(), headers=tenant.headers)

        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == DEFINITION_KEYS
        assert OBJECT_ID.match(body["id"])
        assert OBJECT_ID.match(body["communicationProfileId"])
        assert body["name"] == "Async request succeeded"
        assert body["eventTypeName"] == SUCCEEDED
        assert body["eventTypeNamespace"] == "user.notification"
        assert (body["active"], body["calloutActive"], body["emailActive"]) == (True, True, False)
        assert UTC_TIME.match(body["createdOn"]) and body["updatedOn"] == body["createdOn"]
        assert body["createdBy"] and body["updatedBy"] == body["createdBy"]
        callout_id = body["callout"]["id"]
        assert OBJECT_ID.match(callout_id) and callout_id != body["id"]
        assert body["callout"] == {
            "id": callout_id,
            "createdBy": body["createdBy"],
            "updatedOn": body["createdOn"],
            "name": "Callout for Async Request Succeeded",
            "active": True,
            "eventTypeName": SUCCEEDED,
            "calloutBaseurl": PUBLIC_URL,
            "httpMethod": "POST",
            "requiredAuth": True,
            "calloutAuth": {"username": "receiver", "domain": "example_domain", "preemptive": True},
            "calloutRetry": True,
            "calloutParams": {},
            "description": None,
        }
        assert "receiver-password" not in response.text

    async def test_get_answers_what_create_answered(self, client, tenant):
        created = await create_definition(client, tenant)

        assert await get_definition(client, tenant, created["id"]) == created

    async def test_the_defaults_of_a_minimal_body(self, client, tenant):
        body = {"name": "Failures", "eventTypeName": FAILED}

        response = await client.post(DEFINITIONS, json=body, headers=tenant.headers)

        assert response.status_code == 200, response.text
        created = response.json()
        assert (created["active"], created["calloutActive"], created["emailActive"]) == (
            True,
            False,
            False,
        )
        assert (created["callout"], created["description"]) == (None, None)
        assert {name: created[name] for name in DEFINITION_EXTRAS} == dict.fromkeys(
            DEFINITION_EXTRAS
        )

    async def test_a_callout_without_auth_and_with_params(self, client, tenant):
        callout = callout_body(
            requiredAuth=False,
            calloutParams={"source": "asyncgate"},
            httpMethod="PUT",
            description="to the receiver",
        )

        created = await create_definition(client, tenant, callout=without(callout, "calloutAuth"))

        assert created["callout"]["calloutAuth"] is None
        assert created["callout"]["calloutParams"] == {"source": "asyncgate"}
        assert created["callout"]["httpMethod"] == "PUT"
        assert created["callout"]["description"] == "to the receiver"

    async def test_definitions_go_to_the_tenants_one_default_profile(
        self, client, tenant, database
    ):
        first = await create_definition(client, tenant, name="first")
        second = await create_definition(
            client,
            tenant,
            name="second",
            eventTypeName=FAILED,
            callout=callout_body(eventTypeName=FAILED),
        )

        assert first["communicationProfileId"] == second["communicationProfileId"]
        assert await profiles_of(database, tenant) == [first["communicationProfileId"]]

    async def test_a_profile_named_by_id_is_used(self, client, tenant):
        first = await create_definition(client, tenant, name="first")
        profile = first["communicationProfileId"]

        second = await create_definition(
            client, tenant, name="second", communicationProfileId=profile
        )

        assert second["communicationProfileId"] == profile

    async def test_each_tenant_has_its_own_default_profile(self, client, tenant, other_tenant):
        mine = await create_definition(client, tenant)
        theirs = await create_definition(client, other_tenant)

        assert mine["communicationProfileId"] != theirs["communicationProfileId"]

    async def test_first_definitions_made_at_once_share_one_default_profile(
        self, client, tenant, database
    ):
        bodies = [definition_body(name=f"concurrent {n}") for n in range(4)]

        answers = await asyncio.gather(
            *(client.post(DEFINITIONS, json=body, headers=tenant.headers) for body in bodies)
        )

        assert [answer.status_code for answer in answers] == [200] * 4
        profiles = {answer.json()["communicationProfileId"] for answer in answers}
        assert len(profiles) == 1
        assert await profiles_of(database, tenant) == list(profiles)

    async def test_a_repeat_with_the_same_idempotency_key_creates_one(
        self, client, tenant, database
    ):
        headers = {**tenant.headers, "Idempotency-Key": "create-once"}

        first = await client.post(DEFINITIONS, json=definition_body(), headers=headers)
        repeat = await client.post(DEFINITIONS, json=definition_body(), headers=headers)

        assert repeat.status_code == 200
        assert repeat.json() == first.json()
        assert repeat.headers["idempotent-replayed"] == "true"
        assert await definitions_of(database, tenant) == 1


class TestUniqueNames:
    async def test_a_name_in_use_in_the_profile_is_a_conflict(self, client, tenant, database):
        await create_definition(client, tenant, name="Duplicate")

        response = await client.post(
            DEFINITIONS,
            json=definition_body(
                name="Duplicate", eventTypeName=FAILED, callout=callout_body(eventTypeName=FAILED)
            ),
            headers=tenant.headers,
        )

        body = assert_notifications_error(response, 400, category=30)  # Zuora's: a 400
        assert "Duplicate" in body["message"]
        assert await definitions_of(database, tenant) == 1

    async def test_another_tenant_may_use_the_same_name(self, client, tenant, other_tenant):
        ours = await create_definition(client, tenant, name="Shared name")

        theirs = await create_definition(client, other_tenant, name="Shared name")

        assert theirs["name"] == ours["name"] == "Shared name"
        assert theirs["id"] != ours["id"]
        assert (await get_definition(client, other_tenant, theirs["id"]))["name"] == "Shared name"
        assert (await get_definition(client, tenant, ours["id"]))["name"] == "Shared name"

    async def test_concurrent_creates_of_one_name_create_one(self, client, tenant, database):
        await create_definition(client, tenant, name="first")  # the profile exists
        body = definition_body(name="Raced")

        answers = await asyncio.gather(
            *(client.post(DEFINITIONS, json=body, headers=tenant.headers) for _ in range(3))
        )

        assert sorted(answer.status_code for answer in answers) == [200, 400, 400]
        assert await definitions_of(database, tenant) == 2

    async def test_a_deleted_definitions_name_is_free_again(self, client, tenant):
        created = await create_definition(client, tenant, name="Reused")
        deleted = await client.delete(f"{DEFINITIONS}/{created['id']}", headers=tenant.headers)
        assert deleted.status_code == 204

        await create_definition(client, tenant, name="Reused")


def without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    node = body
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return body


INVALID_BODIES = [
    pytest.param(without(definition_body(), "name"), 22, id="no name"),
    pytest.param(without(definition_body(), "eventTypeName"), 22, id="no event type"),
    *(
        pytest.param(without(definition_body(), "callout", field), 22, id=f"no callout {field}")
        for field in ("name", "eventTypeName", "calloutBaseurl", "httpMethod", "requiredAuth")
    ),
    pytest.param(definition_body(name=""), 20, id="empty name"),
    pytest.param(definition_body(name="n" * 256), 20, id="name over 255"),
    pytest.param(definition_body(description="d" * 256), 20, id="description over 255"),
    pytest.param(
        definition_body(
            eventTypeName="Invoice Posted", callout=callout_body(eventTypeName="Invoice Posted")
        ),
        20,
        id="unknown event type",
    ),
    pytest.param(definition_body(eventTypeNamespace="com.zuora.notification"), 20, id="namespace"),
    pytest.param(
        definition_body(callout=callout_body(eventTypeName=FAILED)), 20, id="callout event differs"
    ),
    pytest.param(definition_body(callout=callout_body(httpMethod="PATCH")), 20, id="PATCH"),
    pytest.param(definition_body(callout=callout_body(httpMethod="post")), 20, id="lower case"),
    pytest.param(definition_body(active="yes"), 20, id="active not a boolean"),
    pytest.param(definition_body(callout=None), 22, id="callout active without a callout"),
    pytest.param(
        without(definition_body(), "callout", "calloutAuth"), 22, id="auth without credentials"
    ),
    pytest.param(
        without(definition_body(), "callout", "calloutAuth", "password"), 22, id="no password"
    ),
    pytest.param(
        without(definition_body(), "callout", "calloutAuth", "username"), 22, id="no username"
    ),
    pytest.param(definition_body(emailActive=True), 30, id="email"),
    pytest.param(definition_body(callout=callout_body(retries=3)), 21, id="unknown callout field"),
    *(
        pytest.param(definition_body(**extra), category, id=name)
        for name, extra, category in [
            ("filter rule without parameters", {"filterRule": {"condition": "x"}}, 22),
            ("filter rule without condition", {"filterRule": {"parameters": {}}}, 22),
            ("filter rule as text", {"filterRule": "Invoice.Amount > 1000"}, 20),
            ("filter condition not text", {"filterRule": {**FILTER_RULE, "condition": 1}}, 20),
            (
                "filter rule description over 255",
                {"filterRule": {**FILTER_RULE, "description": "d" * 256}},
                20,
            ),
            ("unknown filter rule field", {"filterRule": {**FILTER_RULE, "id": "x"}}, 21),
            (
                "filter parameter of an unknown value type",
                {"filterRule": {**FILTER_RULE, "parameters": {"m": {"valueType": "NUMBER"}}}},
                20,
            ),
            (
                "filter parameter options not text",
                {"filterRule": {**FILTER_RULE, "parameters": {"m": {"options": [1, 2]}}}},
                20,
            ),
            ("filter params not text", {"filterRuleParams": {"limit": 1000}}, 20),
            ("filter params a list", {"filterRuleParams": ["POST"]}, 20),
            ("email template not text", {"emailTemplateId": 12}, 20),
            ("associated account not text", {"associatedAccount": True}, 20),
            ("associated account over 255", {"associatedAccount": "a" * 256}, 20),
        ]
    ),
]


class TestInvalidDefinitions:
    @pytest.mark.parametrize(("body", "category"), INVALID_BODIES)
    async def test_is_refused_with_a_zuora_error_and_creates_nothing(
        self, client, tenant, database, body, category
    ):
        response = await client.post(DEFINITIONS, json=body, headers=tenant.headers)

        assert_notifications_error(response, 400, category)
        assert await definitions_of(database, tenant) == 0
        assert await profiles_of(database, tenant) == []

    async def test_a_missing_field_is_named(self, client, tenant):
        body = without(definition_body(), "callout", "calloutBaseurl")

        response = await client.post(DEFINITIONS, json=body, headers=tenant.headers)

        assert "callout.calloutBaseurl" in response.json()["message"]

    async def test_an_unknown_profile_is_a_404(self, client, tenant, database):
        body = definition_body(communicationProfileId="6e569e1e05f040eda51a927b140c0ac5")

        response = await client.post(DEFINITIONS, json=body, headers=tenant.headers)

        assert_notifications_error(response, 404, category=40)
        assert await definitions_of(database, tenant) == 0

    async def test_another_tenants_profile_is_a_404(self, client, tenant, other_tenant, database):
        theirs = await create_definition(client, other_tenant)
        body = definition_body(communicationProfileId=theirs["communicationProfileId"])

        response = await client.post(DEFINITIONS, json=body, headers=tenant.headers)

        assert_notifications_error(response, 404, category=40)
        assert await definitions_of(database, tenant) == 0


REFUSED_URLS = [
    pytest.param("http://93.184.215.14/callouts", id="http"),
    pytest.param("ftp://93.184.215.14/callouts", id="ftp"),
    pytest.param("93.184.215.14/callouts", id="no scheme"),
    pytest.param("https://93.184.215.14:8443/callouts", id="a port"),
    pytest.param("https://user:secret@93.184.215.14/callouts", id="credentials in the URL"),
    pytest.param("https://127.0.0.1/callouts", id="loopback"),
    pytest.param("https://localhost/callouts", id="localhost"),
    pytest.param("https://10.1.2.3/callouts", id="private"),
    pytest.param("https://169.254.169.254/latest/meta-data", id="link-local metadata"),
    pytest.param("https://[::1]/callouts", id="IPv6 loopback"),
    pytest.param("https://[::ffff:127.0.0.1]/callouts", id="IPv4-mapped loopback"),
    pytest.param("https://2130706433/callouts", id="loopback as one number"),
]


class TestCalloutUrls:
    @pytest.mark.parametrize("url", REFUSED_URLS)
    async def test_a_url_off_limits_is_refused_and_creates_nothing(
        self, client, tenant, database, url
    ):
        body = definition_body(callout=callout_body(calloutBaseurl=url))

        response = await client.post(DEFINITIONS, json=body, headers=tenant.headers)

        body = assert_notifications_error(response, 400, category=20)
        assert "calloutBaseurl" in body["message"]
        assert await definitions_of(database, tenant) == 0

    async def test_a_name_that_resolves_to_a_private_address_is_refused(
        self, client, tenant, database, monkeypatch
    ):
        async def internal(host: str, port: int):
            return [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("10.0.0.7")]

        monkeypatch.setattr(urls, "resolve_host", internal)
        body = definition_body(callout=callout_body(calloutBaseurl="https://hooks.example.com/in"))

        response = await client.post(DEFINITIONS, json=body, headers=tenant.headers)

        assert "10.0.0.7" in assert_notifications_error(response, 400, category=20)["message"]
        assert await definitions_of(database, tenant) == 0

    async def test_a_name_that_resolves_to_public_addresses_is_accepted(
        self, client, tenant, monkeypatch
    ):
        async def public(host: str, port: int):
            assert (host, port) == ("hooks.example.com", 443)
            return [ipaddress.ip_address("93.184.215.14")]

        monkeypatch.setattr(urls, "resolve_host", public)
        url = "https://hooks.example.com/in?source=asyncgate"

        created = await create_definition(client, tenant, callout=callout_body(calloutBaseurl=url))

        assert created["callout"]["calloutBaseurl"] == url

    async def test_the_development_relaxations_allow_a_local_receiver(
        self, settings, database, tenant
    ):
        relaxed = create_app(settings.model_copy(update={"dev": True}), database)
        url = "http://127.0.0.1:8443/callouts"
        transport = httpx.ASGITransport(app=relaxed)
        async with httpx.AsyncClient(transport=transport, base_url="http://asyncgate.test") as dev:
            created = await create_definition(dev, tenant, callout=callout_body(calloutBaseurl=url))

        assert created["callout"]["calloutBaseurl"] == url


class TestEncryptionAtRest:
    async def test_the_password_is_stored_sealed_and_never_answered(
        self, client, app, tenant, database
    ):
        password = "pw-" + tenant.tenant_id
        body = definition_body(
            callout=callout_body(calloutAuth={"username": "u", "password": password})
        )
        headers = {**tenant.headers, "Idempotency-Key": "sealed-" + tenant.tenant_id}

        answers = [await client.post(DEFINITIONS, json=body, headers=headers)]
        definition_id = answers[0].json()["id"]
        answers.append(await client.get(f"{DEFINITIONS}/{definition_id}", headers=tenant.headers))
        answers.append(await client.get(DEFINITIONS, headers=tenant.headers))
        answers.append(
            await client.put(
                f"{DEFINITIONS}/{definition_id}", json={"name": "renamed"}, headers=tenant.headers
            )
        )

        assert [answer.status_code for answer in answers] == [200] * 4
        assert all(password not in answer.text for answer in answers)
        assert await cells_containing(database, password) == []
        sealed = await sealed_password(database, definition_id)
        assert app.state.secret_box.decrypt(sealed) == password


async def sealed_password(database, definition_id: str) -> str:
    async with database.read_transaction() as session:
        return await session.scalar(
            select(Callout.password_sealed).where(Callout.definition_id == definition_id)
        )


class TestList:
    async def test_pages_by_start_and_limit_with_a_next_uri(self, client, tenant):
        made = [(await create_definition(client, tenant, name=f"n{n}"))["id"] for n in range(5)]

        seen, query, pages = [], f"{DEFINITIONS}?limit=2", 0
        while query is not None:
            response = await client.get(query, headers=tenant.headers)
            assert response.status_code == 200, response.text
            page = response.json()
            assert set(page) == {"next", "data"}
            seen += [definition["id"] for definition in page["data"]]
            query, pages = page["next"], pages + 1

        assert seen == made
        assert pages == 3

    async def test_next_repeats_the_filters(self, client, tenant):
        for n in range(3):
            await create_definition(client, tenant, name=f"s{n}")

        response = await client.get(
            DEFINITIONS, params={"limit": 1, "eventTypeName": SUCCEEDED}, headers=tenant.headers
        )

        next_uri = response.json()["next"]
        assert next_uri.startswith(DEFINITIONS + "?")
        assert "start=1" in next_uri and "limit=1" in next_uri and "eventTypeName=" in next_uri

    async def test_the_last_page_has_a_null_next(self, client, tenant):
        await create_definition(client, tenant)

        page = (await client.get(DEFINITIONS, headers=tenant.headers)).json()

        assert page["next"] is None and len(page["data"]) == 1

    async def test_filters_by_event_type_and_profile(self, client, tenant):
        succeeded = await create_definition(client, tenant, name="ok")
        failed = await create_definition(
            client,
            tenant,
            name="ko",
            eventTypeName=FAILED,
            callout=callout_body(eventTypeName=FAILED),
        )

        async def ids(**params) -> list[str]:
            answer = await client.get(DEFINITIONS, params=params, headers=tenant.headers)
            return [definition["id"] for definition in answer.json()["data"]]

        assert await ids(eventTypeName=FAILED) == [failed["id"]]
        assert await ids(eventTypeName=SUCCEEDED) == [succeeded["id"]]
        profile = succeeded["communicationProfileId"]
        assert await ids(profileId=profile) == [succeeded["id"], failed["id"]]
        assert await ids(profileId="0" * 32) == []
        assert await ids(emailTemplateId="0" * 32) == []

    async def test_another_tenants_definitions_are_not_listed(self, client, tenant, other_tenant):
        await create_definition(client, other_tenant)

        page = (await client.get(DEFINITIONS, headers=tenant.headers)).json()

        assert page == {"next": None, "data": []}

    @pytest.mark.parametrize(
        "query", ["limit=0", "limit=101", "start=-1", "limit=ten"], ids=lambda q: q
    )
    async def test_paging_out_of_bounds_is_refused(self, client, tenant, query):
        response = await client.get(f"{DEFINITIONS}?{query}", headers=tenant.headers)

        assert_notifications_error(response, 400, category=20)


class TestUpdate:
    async def test_changes_the_fields_sent_and_keeps_the_rest(self, client, tenant):
        created = await create_definition(client, tenant)

        response = await client.put(
            f"{DEFINITIONS}/{created['id']}",
            json={"name": "Renamed", "description": None, "active": False},
            headers=tenant.headers,
        )

        assert response.status_code == 200, response.text
        updated = response.json()
        assert (updated["name"], updated["description"], updated["active"]) == (
            "Renamed",
            None,
            False,
        )
        assert updated["callout"] == created["callout"]
        assert updated["createdOn"] == created["createdOn"]
        assert updated["updatedOn"] >= created["updatedOn"]
        assert await get_definition(client, tenant, created["id"]) == updated

    async def test_a_callout_sent_replaces_the_stored_one(self, client, tenant):
        created = await create_definition(client, tenant)
        callout = without(
            callout_body(calloutBaseurl=PUBLIC_URL + "/v2", httpMethod="PUT", requiredAuth=False),
            "calloutAuth",
        )
        del callout["eventTypeName"]

        response = await client.put(
            f"{DEFINITIONS}/{created['id']}", json={"callout": callout}, headers=tenant.headers
        )

        assert response.status_code == 200, response.text
        replaced = response.json()["callout"]
        assert replaced["calloutBaseurl"] == PUBLIC_URL + "/v2"
        assert replaced["httpMethod"] == "PUT"
        assert replaced["requiredAuth"] is False
        assert replaced["calloutAuth"] is None
        assert replaced["eventTypeName"] == SUCCEEDED
        assert response.json()["updatedOn"] > created["updatedOn"]

    async def test_credentials_without_a_password_keep_the_stored_password(
        self, client, app, tenant, database
    ):
        created = await create_definition(client, tenant)
        callout = callout_body(calloutAuth={"username": "renamed-user", "preemptive": False})
        del callout["eventTypeName"]

        response = await client.put(
            f"{DEFINITIONS}/{created['id']}", json={"callout": callout}, headers=tenant.headers
        )

        assert response.status_code == 200, response.text
        assert response.json()["callout"]["calloutAuth"] == {
            "username": "renamed-user",
            "domain": None,
            "preemptive": False,
        }
        sealed = await sealed_password(database, created["id"])
        assert app.state.secret_box.decrypt(sealed) == "receiver-password"

    async def test_a_new_password_replaces_the_stored_one(self, client, app, tenant, database):
        created = await create_definition(client, tenant)
        callout = callout_body(calloutAuth={"username": "receiver", "password": "rotated"})
        del callout["eventTypeName"]

        response = await client.put(
            f"{DEFINITIONS}/{created['id']}", json={"callout": callout}, headers=tenant.headers
        )

        assert response.status_code == 200, response.text
        sealed = await sealed_password(database, created["id"])
        assert app.state.secret_box.decrypt(sealed) == "rotated"

    @pytest.mark.parametrize(
        ("change", "category"),
        [
            pytest.param({"name": None}, 20, id="null name"),
            pytest.param({"active": None}, 20, id="null active"),
            pytest.param({"eventTypeName": FAILED}, 21, id="event type"),
            pytest.param({"emailActive": True}, 30, id="email"),
            pytest.param(
                {"callout": {**callout_body(calloutBaseurl="https://10.0.0.1/x")}},
                21,
                id="callout with an event type",
            ),
            pytest.param(
                {
                    "callout": without(
                        callout_body(calloutBaseurl="https://10.0.0.1/x"), "eventTypeName"
                    )
                },
                20,
                id="private callout URL",
            ),
            pytest.param(
                {"callout": without(without(callout_body(), "eventTypeName"), "calloutAuth")},
                22,
                id="auth without credentials",
            ),
        ],
    )
    async def test_an_invalid_change_is_refused_and_changes_nothing(
        self, client, tenant, change, category
    ):
        created = await create_definition(client, tenant)

        response = await client.put(
            f"{DEFINITIONS}/{created['id']}",
            json={"name": "changed", **change},
            headers=tenant.headers,
        )

        assert_notifications_error(response, 400, category)
        assert await get_definition(client, tenant, created["id"]) == created

    async def test_an_active_callout_needs_a_callout(self, client, tenant):
        created = await create_definition(client, tenant, callout=None, calloutActive=False)

        response = await client.put(
            f"{DEFINITIONS}/{created['id']}", json={"calloutActive": True}, headers=tenant.headers
        )

        assert_notifications_error(response, 400, category=22)

    async def test_a_name_in_use_is_a_conflict(self, client, tenant):
        await create_definition(client, tenant, name="Taken")
        created = await create_definition(client, tenant, name="Free")

        response = await client.put(
            f"{DEFINITIONS}/{created['id']}", json={"name": "Taken"}, headers=tenant.headers
        )

        assert_notifications_error(response, 400, category=30)
        assert (await get_definition(client, tenant, created["id"]))["name"] == "Free"


class TestFiltersEmailTemplatesAndAccounts:
    """zuora-sdk's optional ``filterRule``, ``filterRuleParams``, ``emailTemplateId`` and
    ``associatedAccount``: stored, and answered exactly as sent."""

    async def test_create_get_and_list_answer_them_as_sent(self, client, tenant):
        created = await create_definition(client, tenant, **DEFINITION_EXTRAS)

        assert {name: created[name] for name in DEFINITION_EXTRAS} == DEFINITION_EXTRAS
        assert await get_definition(client, tenant, created["id"]) == created
        listed = (await client.get(DEFINITIONS, headers=tenant.headers)).json()["data"]
        assert listed == [created]

    async def test_the_list_filters_by_email_template(self, client, tenant):
        templated = await create_definition(client, tenant, name="t", emailTemplateId="e" * 32)
        await create_definition(client, tenant, name="none")

        response = await client.get(
            DEFINITIONS, params={"emailTemplateId": "e" * 32}, headers=tenant.headers
        )

        assert [definition["id"] for definition in response.json()["data"]] == [templated["id"]]

    async def test_a_filter_rule_keeps_exactly_the_fields_sent(self, client, tenant):
        rule = {"condition": "true", "parameters": {"method": {}}}

        created = await create_definition(client, tenant, filterRule=rule)

        assert created["filterRule"] == rule
        assert (await get_definition(client, tenant, created["id"]))["filterRule"] == rule

    async def test_an_update_replaces_them_and_the_get_answers_the_same(self, client, tenant):
        created = await create_definition(client, tenant, **DEFINITION_EXTRAS)
        changes = {
            "filterRule": {"condition": "Request.Method == 'PUT'", "parameters": {}},
            "filterRuleParams": {},
            "emailTemplateId": "8a8082c45b0a2ba1015b0ab3a3dd1a2d",
            "associatedAccount": "Account.Id",
        }

        response = await client.put(
            f"{DEFINITIONS}/{created['id']}", json=changes, headers=tenant.headers
        )

        assert response.status_code == 200, response.text
        updated = response.json()
        assert {name: updated[name] for name in changes} == changes
        assert await get_definition(client, tenant, created["id"]) == updated

    async def test_an_update_without_them_keeps_them(self, client, tenant):
        created = await create_definition(client, tenant, **DEFINITION_EXTRAS)

        response = await client.put(
            f"{DEFINITIONS}/{created['id']}", json={"name": "Renamed"}, headers=tenant.headers
        )

        assert response.status_code == 200, response.text
        assert {name: response.json()[name] for name in DEFINITION_EXTRAS} == DEFINITION_EXTRAS

    async def test_an_update_clears_them_with_null(self, client, tenant):
        created = await create_definition(client, tenant, **DEFINITION_EXTRAS)

        response = await client.put(
            f"{DEFINITIONS}/{created['id']}",
            json=dict.fromkeys(DEFINITION_EXTRAS),
            headers=tenant.headers,
        )

        assert response.status_code == 200, response.text
        fetched = await get_definition(client, tenant, created["id"])
        assert {name: fetched[name] for name in DEFINITION_EXTRAS} == dict.fromkeys(
            DEFINITION_EXTRAS
        )

    @pytest.mark.parametrize(
        "change",
        [
            pytest.param({"filterRule": {"condition": True, "parameters": {}}}, id="condition"),
            pytest.param({"filterRuleParams": {"method": None}}, id="params"),
            pytest.param({"emailTemplateId": ["x"]}, id="email template"),
            pytest.param({"associatedAccount": 1}, id="associated account"),
        ],
    )
    async def test_a_value_of_the_wrong_type_is_refused_and_changes_nothing(
        self, client, tenant, change
    ):
        created = await create_definition(client, tenant, **DEFINITION_EXTRAS)

        response = await client.put(
            f"{DEFINITIONS}/{created['id']}", json=change, headers=tenant.headers
        )

        body = assert_notifications_error(response, 400, category=20)
        assert next(iter(change)) in body["message"]
        assert await get_definition(client, tenant, created["id"]) == created

    async def test_a_missing_filter_rule_field_is_named(self, client, tenant):
        response = await client.post(
            DEFINITIONS,
            json=definition_body(filterRule={"condition": "true"}),
            headers=tenant.headers,
        )

        body = assert_notifications_error(response, 400, category=22)
        assert "filterRule.parameters" in body["message"]


class TestTheCalloutsOwnFields:
    """The callout's ``id``, ``createdBy`` and ``updatedOn`` (zuora-sdk's
    ``GetPublicNotificationDefinitionResponseCallout``)."""

    async def test_a_replaced_callout_keeps_its_id_and_creator_and_is_updated(
        self, client, tenant, database
    ):
        created = await create_definition(client, tenant)
        administrator = await make_client(database, tenant, role=Role.BILLING_ADMINISTRATOR)
        callout = without(callout_body(calloutBaseurl=PUBLIC_URL + "/v2"), "eventTypeName")

        response = await client.put(
            f"{DEFINITIONS}/{created['id']}",
            json={"callout": callout},
            headers=administrator.headers,
        )

        assert response.status_code == 200, response.text
        updated = response.json()
        assert updated["callout"]["id"] == created["callout"]["id"]
        assert updated["callout"]["createdBy"] == created["createdBy"]
        assert updated["updatedBy"] != created["createdBy"]
        assert updated["callout"]["updatedOn"] == updated["updatedOn"] > created["updatedOn"]
        assert await get_definition(client, tenant, created["id"]) == updated

    async def test_a_change_of_the_definition_alone_leaves_the_callout_as_it_was(
        self, client, tenant
    ):
        created = await create_definition(client, tenant)

        response = await client.put(
            f"{DEFINITIONS}/{created['id']}", json={"name": "Renamed"}, headers=tenant.headers
        )

        assert response.status_code == 200, response.text
        assert response.json()["callout"] == created["callout"]
        assert response.json()["updatedOn"] > created["callout"]["updatedOn"]

    async def test_a_callout_added_later_is_made_by_the_updater(self, client, tenant, database):
        created = await create_definition(client, tenant, callout=None, calloutActive=False)
        administrator = await make_client(database, tenant, role=Role.BILLING_ADMINISTRATOR)
        callout = without(callout_body(), "eventTypeName")

        response = await client.put(
            f"{DEFINITIONS}/{created['id']}",
            json={"callout": callout},
            headers=administrator.headers,
        )

        assert response.status_code == 200, response.text
        added = response.json()["callout"]
        assert OBJECT_ID.match(added["id"]) and added["id"] != created["id"]
        assert added["createdBy"] == response.json()["updatedBy"] != created["createdBy"]
        assert added["updatedOn"] == response.json()["updatedOn"]

    async def test_each_definition_has_a_callout_of_its_own(self, client, tenant):
        first = await create_definition(client, tenant, name="first")
        second = await create_definition(client, tenant, name="second")

        assert first["callout"]["id"] != second["callout"]["id"]


class TestDelete:
    async def test_answers_204_and_the_definition_is_gone(self, client, tenant, database):
        created = await create_definition(client, tenant)

        response = await client.delete(f"{DEFINITIONS}/{created['id']}", headers=tenant.headers)

        assert response.status_code == 204
        assert response.content == b""
        missing = await client.get(f"{DEFINITIONS}/{created['id']}", headers=tenant.headers)
        assert_notifications_error(missing, 404, category=40)
        assert await definitions_of(database, tenant) == 0
        async with database.read_transaction() as session:
            callouts = await session.scalar(
                select(func.count())
                .select_from(Callout)
                .where(Callout.definition_id == created["id"])
            )
        assert callouts == 0


class TestOtherTenants:
    @pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
    async def test_another_tenants_definition_is_not_found_and_untouched(
        self, client, tenant, other_tenant, method
    ):
        theirs = await create_definition(client, other_tenant)

        response = await client.request(
            method,
            f"{DEFINITIONS}/{theirs['id']}",
            json={"name": "hijacked"} if method == "PUT" else None,
            headers=tenant.headers,
        )

        assert_notifications_error(response, 404, category=40)
        assert await get_definition(client, other_tenant, theirs["id"]) == theirs


class TestRoles:
    @pytest.mark.parametrize("role", sorted(ADMINISTRATOR_ROLES))
    async def test_every_administrator_role_may_manage_definitions(
        self, client, tenant, database, role
    ):
        administrator = await make_client(database, tenant, role=role)

        created = await create_definition(client, administrator)
        changed = await client.put(
            f"{DEFINITIONS}/{created['id']}",
            json={"name": role.value},
            headers=administrator.headers,
        )
        deleted = await client.delete(
            f"{DEFINITIONS}/{created['id']}", headers=administrator.headers
        )

        assert (changed.status_code, deleted.status_code) == (200, 204)

    async def test_a_standard_user_may_read_but_not_change(self, client, tenant, database):
        created = await create_definition(client, tenant)
        user = await make_client(database, tenant, role=Role.STANDARD_USER)
        path = f"{DEFINITIONS}/{created['id']}"

        assert (await client.get(path, headers=user.headers)).json() == created
        assert (await client.get(DEFINITIONS, headers=user.headers)).json()["data"] == [created]
        refused = [
            await client.post(DEFINITIONS, json=definition_body(name="x"), headers=user.headers),
            await client.put(path, json={"name": "x"}, headers=user.headers),
            await client.delete(path, headers=user.headers),
        ]

        for response in refused:
            assert_notifications_error(response, 403, category=10)
        assert await definitions_of(database, tenant) == 1
        assert await get_definition(client, tenant, created["id"]) == created

    async def test_a_standard_user_is_refused_before_the_body_is_judged(
        self, client, tenant, database
    ):
        user = await make_client(database, tenant, role=Role.STANDARD_USER)

        response = await client.post(DEFINITIONS, json={"name": ""}, headers=user.headers)

        assert_notifications_error(response, 403, category=10)


class TestConventions:
    async def test_a_request_without_a_token_is_a_401_with_a_message(self, client):
        response = await client.get(DEFINITIONS)

        body = assert_notifications_error(response, 401, category=11)
        assert body["message"] == "Authentication error: a Bearer token is required"

    async def test_a_body_that_is_not_json_is_a_415(self, client, tenant):
        response = await client.post(
            DEFINITIONS, content="name=x", headers={**tenant.headers, "Content-Type": "text/plain"}
        )

        assert_notifications_error(response, 415, category=20)

    async def test_there_is_no_async_twin(self, client, tenant, database):
        response = await client.post(
            "/v1/async/notifications/notification-definitions",
            json=definition_body(),
            headers=tenant.headers,
        )

        assert response.status_code == 404
        async with database.read_transaction() as session:
            stored = await session.scalar(
                select(AsyncRequest.id).where(AsyncRequest.tenant_id == tenant.tenant_id)
            )
        assert stored is None
        assert await definitions_of(database, tenant) == 0
