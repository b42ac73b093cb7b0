"""Callout history in the console: the API's filters, one attempt with the receiver's answer,
and resending one or many."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from asyncgate.db.base import utcnow
from asyncgate.notifications.models import CalloutAttempt, CalloutDelivery
from tests.console.support import csrf_token, make_callout_attempt, submit

LIST = "/console/callouts/history"


def ids_listed(page) -> list[str]:
    return [part.split('"')[0] for part in page.text.split(f'href="{LIST}/')[1:]]


async def states_of(database, history_ids) -> set[str]:
    async with database.read_transaction() as session:
        found = await session.scalars(
            select(CalloutDelivery.state)
            .join(CalloutAttempt, CalloutAttempt.delivery_id == CalloutDelivery.id)
            .where(CalloutAttempt.id.in_(history_ids))
        )
        return set(found)


class TestTheList:
    async def test_failed_only_by_default_as_the_api(self, as_admin, database, tenant):
        request_id = str(uuid.uuid4())
        delivered = await make_callout_attempt(database, tenant.tenant_id, request_id)
        failed = await make_callout_attempt(database, tenant.tenant_id, request_id, succeeded=False)
        assert ids_listed(await as_admin.get(LIST)) == [failed]
        everything = await as_admin.get(LIST, params={"filtered": "1"})
        assert ids_listed(everything) == [delivered, failed]

    async def test_filters_by_object_time_and_category(self, as_admin, database, tenant):
        mine, other = str(uuid.uuid4()), str(uuid.uuid4())
        old = await make_callout_attempt(
            database, tenant.tenant_id, mine, completed_at=utcnow() - timedelta(hours=30)
        )
        recent = await make_callout_attempt(database, tenant.tenant_id, mine)
        await make_callout_attempt(database, tenant.tenant_id, other)
        by_object = await as_admin.get(LIST, params={"filtered": "1", "object_id": mine})
        assert ids_listed(by_object) == [recent]  # the default window is the last day
        since = (utcnow() - timedelta(hours=31)).strftime("%Y-%m-%dT%H:%M")
        wider = await as_admin.get(
            LIST, params={"filtered": "1", "object_id": mine, "start_time": since}
        )
        assert ids_listed(wider) == [old, recent]
        failed_category = await as_admin.get(
            LIST,
            params={"filtered": "1", "event_category": "user.notification:Async Request Failed"},
        )
        assert ids_listed(failed_category) == []

    async def test_another_tenants_callouts_are_not_listed_or_shown(
        self, as_admin, database, other_tenant
    ):
        theirs = await make_callout_attempt(database, other_tenant.tenant_id, str(uuid.uuid4()))
        assert ids_listed(await as_admin.get(LIST, params={"filtered": "1"})) == []
        assert (await as_admin.get(f"{LIST}/{theirs}")).status_code == 404


class TestOneCallout:
    async def test_shows_the_receivers_answer(self, as_admin, database, tenant):
        history_id = await make_callout_attempt(database, tenant.tenant_id, str(uuid.uuid4()))
        page = await as_admin.get(f"{LIST}/{history_id}")
        assert page.status_code == 200
        assert "{&#34;success&#34;: true}" in page.text
        assert "Callout for Async Request Succeeded" in page.text


class TestResend:
    async def test_one_is_resent_from_its_page(self, as_admin, database, tenant):
        history_id = await make_callout_attempt(database, tenant.tenant_id, str(uuid.uuid4()))
        page = f"{LIST}/{history_id}"
        answer = await submit(as_admin, page, LIST + "/resend", history_id=history_id)
        assert answer.status_code == 200
        assert "1 callout will be sent again" in answer.text
        assert await states_of(database, [history_id]) == {"pending"}

    async def test_many_are_resent_from_the_list_and_refusals_are_named(
        self, as_admin, database, tenant
    ):
        request_id = str(uuid.uuid4())
        chosen = [
            await make_callout_attempt(database, tenant.tenant_id, request_id, succeeded=False)
            for _ in range(2)
        ]
        listed = await as_admin.get(LIST)
        answer = await as_admin.post(
            LIST + "/resend",
            data={"csrf_token": csrf_token(listed), "history_id": [*chosen, "missing-id"]},
        )
        assert "2 callouts will be sent again" in answer.text
        assert "Callout history missing-id does not exist" in answer.text
        assert await states_of(database, chosen) == {"pending"}

    async def test_choosing_none_is_refused(self, as_admin):
        answer = await submit(as_admin, LIST, LIST + "/resend")
        assert answer.status_code == 400
        assert "Choose 1 to 100 callouts" in answer.text

    async def test_a_standard_user_sees_no_resend_and_cannot_resend(
        self, as_standard_user, database, tenant
    ):
        history_id = await make_callout_attempt(database, tenant.tenant_id, str(uuid.uuid4()))
        shown = await as_standard_user.get(f"{LIST}/{history_id}")
        assert "Resend" not in shown.text.split("</header>")[1]
        token = csrf_token(shown)
        answer = await as_standard_user.post(
            LIST + "/resend", data={"csrf_token": token, "history_id": history_id}
        )
        assert answer.status_code == 403
        assert await states_of(database, [history_id]) == {"delivered"}
