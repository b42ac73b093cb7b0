"""Async requests in the console: the tenant's queue with filters, one request, cancelling."""

from __future__ import annotations

from datetime import timedelta

from asyncgate.db.base import utcnow
from tests.console.support import csrf_token, make_async_request, submit

LIST = "/console/requests"


def ids_listed(page) -> list[str]:
    return [part.split('"')[0] for part in page.text.split('href="/console/requests/')[1:]]


class TestTheList:
    async def test_filters_by_state_path_track_id_and_time(self, as_admin, database, tenant):
        now = utcnow()
        old = await make_async_request(
            database, tenant.tenant_id, created_at=now - timedelta(hours=2), state="succeeded"
        )
        tracked = await make_async_request(
            database, tenant.tenant_id, track_id="order-42", path="/v1/object/account"
        )
        failed = await make_async_request(database, tenant.tenant_id, state="failed")
        everything = await as_admin.get(LIST)
        assert ids_listed(everything) == [failed, tracked, old]  # newest first
        assert ids_listed(await as_admin.get(LIST, params={"state": "failed"})) == [failed]
        assert ids_listed(await as_admin.get(LIST, params={"track_id": "order-42"})) == [tracked]
        by_path = await as_admin.get(LIST, params={"path": "/v1/async/object/"})
        assert ids_listed(by_path) == [tracked]
        since = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
        recent = await as_admin.get(LIST, params={"created_from": since})
        assert ids_listed(recent) == [failed, tracked]
        until = await as_admin.get(LIST, params={"created_to": since})
        assert ids_listed(until) == [old]

    async def test_a_filter_that_does_not_parse_is_shown_and_left_out(
        self, as_admin, database, tenant
    ):
        only = await make_async_request(database, tenant.tenant_id)
        page = await as_admin.get(LIST, params={"created_from": "yesterday", "state": "lost"})
        assert page.status_code == 200
        assert "is not a date and time" in page.text
        assert "Choose one of" in page.text
        assert ids_listed(page) == [only]

    async def test_pages_go_back_in_time(self, as_admin, database, tenant):
        now = utcnow()
        made = [
            await make_async_request(
                database, tenant.tenant_id, created_at=now - timedelta(seconds=n)
            )
            for n in range(27)
        ]
        first = await as_admin.get(LIST)
        assert ids_listed(first) == made[:25]
        assert 'rel="prev"' not in first.text
        second = await as_admin.get(LIST, params={"page": "2"})
        assert ids_listed(second) == made[25:]
        assert 'rel="next"' not in second.text

    async def test_another_tenants_requests_are_not_listed_or_shown(
        self, as_admin, database, other_tenant
    ):
        theirs = await make_async_request(database, other_tenant.tenant_id)
        assert ids_listed(await as_admin.get(LIST)) == []
        assert (await as_admin.get(f"{LIST}/{theirs}")).status_code == 404


class TestOneRequest:
    async def test_a_finished_request_shows_its_body_and_answer(self, as_admin, database, tenant):
        request_id = await make_async_request(
            database,
            tenant.tenant_id,
            state="succeeded",
            attempts=1,
            completed_at=utcnow(),
            response_status=200,
            response_body=b'{"success": true, "id": "acc-1"}',
        )
        page = await as_admin.get(f"{LIST}/{request_id}")
        assert page.status_code == 200
        assert "POST /v1/async/accounts" in page.text
        assert "&#34;name&#34;: &#34;Acme&#34;" in page.text
        assert "&#34;id&#34;: &#34;acc-1&#34;" in page.text
        assert 'http-equiv="refresh"' not in page.text

    async def test_an_unfinished_request_reloads_itself(self, as_admin, database, tenant):
        request_id = await make_async_request(database, tenant.tenant_id, state="running")
        page = await as_admin.get(f"{LIST}/{request_id}")
        assert 'http-equiv="refresh"' in page.text

    async def test_one_just_accepted_is_found_before_a_worker_takes_it_in(
        self, as_admin, client, database, tenant
    ):
        accepted = await client.post(
            "/v1/async/accounts", json={"name": "Acme"}, headers=tenant.headers
        )
        request_id = accepted.json()["requestId"]
        page = await as_admin.get(f"{LIST}/{request_id}")
        assert page.status_code == 200
        assert ">queued<" in page.text
        if database.sqlite_file:  # it waits in the inbox, which the list mentions
            listed = await as_admin.get(LIST)
            assert "1 request just accepted waits to enter the queue" in listed.text


class TestCancel:
    async def test_an_administrator_cancels_a_queued_request(
        self, as_admin, client, database, tenant
    ):
        request_id = await make_async_request(database, tenant.tenant_id)
        page = f"{LIST}/{request_id}"
        answer = await submit(as_admin, page, page + "/cancel")
        assert answer.headers["location"] == f"{page}?notice=cancelled"
        status = await client.get(f"/v1/async-requests/{request_id}", headers=tenant.headers)
        assert status.json()["state"] == "cancelled"

    async def test_a_running_request_cannot_be_cancelled(self, as_admin, database, tenant):
        request_id = await make_async_request(database, tenant.tenant_id, state="running")
        page = f"{LIST}/{request_id}"
        assert "Cancel this request" not in (await as_admin.get(page)).text
        token = csrf_token(await as_admin.get(page))
        answer = await as_admin.post(page + "/cancel", data={"csrf_token": token})
        assert answer.status_code == 409
        assert "can no longer be cancelled" in answer.text

    async def test_a_standard_user_cannot_cancel(self, as_standard_user, client, database, tenant):
        request_id = await make_async_request(database, tenant.tenant_id)
        page = f"{LIST}/{request_id}"
        shown = await as_standard_user.get(page)
        assert "Cancel this request" not in shown.text
        token = csrf_token(await as_standard_user.get(LIST))
        answer = await as_standard_user.post(page + "/cancel", data={"csrf_token": token})
        assert answer.status_code == 403
        status = await client.get(f"/v1/async-requests/{request_id}", headers=tenant.headers)
        assert status.json()["state"] == "queued"
