"""A walk over the app's route table with extreme values (``tests/fuzz/extremes.py``): huge
integers, the calendar's ends, NUL, long text, other scripts, deep nesting, wrong charsets, in
the path and query parameters, headers and body fields of every route and of its async twin.

Whatever is sent, no answer is a 5xx, and a request that is refused (4xx), or only reads
(GET), leaves the tenant's data as it was. The examples are the same on every run
(derandomized, none remembered) and few, so the walk takes seconds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from asyncgate.asyncreq.queue import RequestQueue
from asyncgate.crud.registry import OBJECT_TYPES
from asyncgate.db.engine import Database
from tests.billing.api import account_body, create_contact
from tests.billing.orders_api import create_action, make_catalog_plan, order_body, place
from tests.factories import TenantContext, make_tenant
from tests.fuzz.calls import Call, Endpoint, calls, endpoints
from tests.fuzz.examples import Recorder
from tests.fuzz.extremes import Known
from tests.fuzz.stored import stored_rows
from tests.notifications.api import CALLOUT_SETTINGS, DEFINITIONS, create_definition
from tests.support.database import queue_of

# No shrinking: each step would replay every route before the failing one, for minutes, and
# the failure's message already holds the request that failed.
WALK = settings(
    max_examples=8,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LONGEST_KNOWN_VALUE = 64


@dataclass
class Walk:
    """The client of one tenant whose objects the walk may reach, the requests it draws for
    each route, and what the tenant has stored."""

    client: httpx.AsyncClient
    tenant: TenantContext
    database: Database
    queue: RequestQueue
    calls: dict[Endpoint, st.SearchStrategy[Call]]
    stored: dict[str, int]
    sent: set[Call] = field(default_factory=set)

    async def send(self, call: Call, *, queued: bool = False) -> str | None:
        """Sends ``call``; returns what went wrong (a 5xx, or rows stored by a refused request
        or a GET), None when nothing did. ``queued``: the async requests the queue holds are
        counted too. A call that passed before is not sent again (a route without parameters
        has but one)."""
        if call in self.sent:
            return None
        response = await self.client.request(
            call.method,
            call.path,
            params=call.params,
            headers={**self.tenant.headers, **dict(call.headers)},
            content=call.content,
        )
        answer = f"{call}\n{response.status_code} {response.text[:2000]}"
        if response.status_code >= 500:
            return f"{answer}\na server error"
        queue = self.queue if queued else None
        stored = await stored_rows(self.database, self.tenant.tenant_id, queue)
        if response.status_code >= 400 or call.method == "GET":
            changed = sorted(name for name, rows in stored.items() if self.stored[name] != rows)
            if changed:
                return f"{answer}\nstored rows in {changed}"
        self.stored.update(stored)
        self.sent.add(call)
        return None


@pytest.fixture(scope="module")
async def walk(app, client, database) -> AsyncIterator[Walk]:
    """A tenant with one of each object the API reaches by key, made through the API: its
    successful requests are examples of what their routes take, the text its objects hold
    (IDs, numbers, currencies, names) the walk's ordinary text, and CRUD's field names the
    keys of its free-form objects."""
    tenant = await make_tenant(database)
    recorder = Recorder()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=client.base_url, event_hooks={"response": [recorder]}
    ) as seeding:
        answers = await seed(seeding, tenant)
    # CRUD's object types as paths name them (product-rate-plan) and as ZOQL does.
    types = {name for kind in OBJECT_TYPES for name in (kind.path, kind.name)}
    values = {*texts_in(answers), *types}
    names = {field.name for kind in OBJECT_TYPES for field in kind.fields}
    known = Known(st.sampled_from(sorted(values)), st.sampled_from(sorted(names)))
    walked = endpoints(app)
    assert {"POST /v1/orders", "GET /v1/accounts/{account_key}"} <= {str(e) for e in walked}
    requests = {e: calls(e, known, recorder.examples) for e in walked}
    async with queue_of(database) as queue:
        stored = await stored_rows(database, tenant.tenant_id, queue)
        yield Walk(client, tenant, database, queue, requests, stored)


async def seed(client: httpx.AsyncClient, tenant: TenantContext) -> list[Any]:
    """One of each object, and a change of each that can change; the answers."""
    headers = tenant.headers
    plan = await make_catalog_plan(client, tenant)
    billing = {"runBilling": True, "billingOptions": {"targetDate": "2024-01-01"}}
    order = await place(client, tenant, [create_action(plan)], processingOptions=billing)
    number, subscription = order["accountNumber"], order["subscriptionNumbers"][0]
    account = (await client.get(f"/v1/accounts/{number}", headers=headers)).json()
    contact = await create_contact(client, tenant, account["basicInfo"]["id"])
    definition = await create_definition(client, tenant)
    preview = order_body(
        [create_action(plan)],
        account=number,
        previewOptions={
            "previewTypes": ["BillingDocs", "ChargeMetrics"],
            "previewThruType": "TermEnd",
        },
    )
    changes = [
        ("POST", "/v1/orders/preview", preview),
        ("PUT", f"/v1/accounts/{number}", {"notes": "walked", "billCycleDay": 2}),
        ("PUT", f"/v1/contacts/{contact['id']}", {"city": "Paris"}),
        ("PUT", f"/v1/object/account/{account['basicInfo']['id']}", {"CrmId": "walked"}),
        ("PUT", f"{DEFINITIONS}/{definition['id']}", {"description": "walked"}),
        ("PUT", CALLOUT_SETTINGS, {"maxAttempts": 3, "minIntervalMinutes": 30}),
        ("POST", "/v1/action/query", {"queryString": "select Id, Name from Account"}),
        ("POST", "/v1/async/accounts", account_body()),
    ]
    answers = [order, account, contact, definition]
    for method, path, body in changes:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.is_success, response.text
        answers.append(response.json())
    for path in (
        f"/v1/catalog/product/{plan.id}",
        f"/v1/subscriptions/{subscription}",
        f"/v1/orders/{order['orderNumber']}",
        f"/v1/invoices/{order['invoiceNumbers'][0]}",
    ):
        answers.append((await client.get(path, headers=headers)).json())
    token = {
        "client_id": tenant.client_id,
        "client_secret": tenant.client_secret,
        "grant_type": "client_credentials",
    }
    response = await client.post("/oauth/token", data=token)
    assert response.is_success, response.text
    return answers


def texts_in(value: Any) -> Iterator[str]:
    """The short texts anywhere in a JSON value."""
    if isinstance(value, str) and 0 < len(value) <= LONGEST_KNOWN_VALUE:
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from texts_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts_in(item)


@WALK
@given(data=st.data())
async def test_no_route_answers_an_extreme_value_with_a_server_error(walk, data):
    for endpoint, requests in walk.calls.items():
        problem = await walk.send(data.draw(requests, label=str(endpoint)))
        assert problem is None, problem


@WALK
@given(data=st.data())
async def test_no_async_twin_answers_an_extreme_value_with_a_server_error(walk, data):
    for endpoint, requests in walk.calls.items():
        if endpoint.has_async_twin:
            call = data.draw(requests, label=f"async twin of {endpoint}")
            problem = await walk.send(call.as_async(), queued=True)
            assert problem is None, problem
