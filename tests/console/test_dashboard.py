"""The dashboard: the tenant's own figures, counted in SQL, drawn as inline SVG."""

from __future__ import annotations

import re
from datetime import timedelta

from asyncgate.db.base import utcnow
from tests.console.support import make_async_request, make_callout_attempt

DASHBOARD = "/console"


def figure(page, name: str) -> str:
    found = re.search(rf'id="{name}">([^<]*)<', page.text)
    assert found, f"no {name} on the page:\n{page.text}"
    return found.group(1)


async def test_an_empty_tenant_shows_nothing_yet(as_standard_user):
    page = await as_standard_user.get(DASHBOARD)
    assert page.status_code == 200
    assert '<meta http-equiv="refresh" content="10">' in page.text
    assert figure(page, "queue-depth") == "0"
    assert figure(page, "callout-success") == "—"
    assert figure(page, "start-p99") == "—"
    assert figure(page, "accept-p99") == "—"
    assert "<script" not in page.text


async def test_the_figures_are_the_tenants_own(as_admin, database, tenant, other_tenant):
    now = utcnow()
    for state in ("queued", "running"):
        await make_async_request(database, tenant.tenant_id, state=state)
    await make_async_request(database, other_tenant.tenant_id, state="queued")
    for seconds in range(1, 101):  # 100 started requests: the p99 is the 99th smallest
        await make_async_request(
            database,
            tenant.tenant_id,
            state="succeeded" if seconds % 4 else "failed",
            created_at=now - timedelta(minutes=5),
            started_at=now - timedelta(minutes=5) + timedelta(seconds=seconds / 10),
            completed_at=now - timedelta(minutes=2),
        )
    await make_async_request(  # accepted long ago, finished in the last hour: an outcome
        database,
        tenant.tenant_id,
        state="succeeded",
        created_at=now - timedelta(hours=3),
        started_at=now - timedelta(hours=3),
        completed_at=now - timedelta(minutes=2),
    )
    for succeeded in (True, True, True, False):
        await make_callout_attempt(database, tenant.tenant_id, "r", succeeded=succeeded)
    await make_callout_attempt(database, other_tenant.tenant_id, "r", succeeded=False)
    await make_callout_attempt(
        database, tenant.tenant_id, "r", succeeded=False, completed_at=now - timedelta(hours=2)
    )

    page = await as_admin.get(DASHBOARD)
    assert figure(page, "queue-depth") == "2"
    assert figure(page, "callout-success") == "75.0%"
    assert figure(page, "start-p99") == "9.900 s"
    assert "of 100 requests accepted in the last hour" in page.text
    accepted = re.findall(r": (\d+) accepted</title>", page.text)
    assert sorted(map(int, accepted)) == [2, 100]
    succeeded = re.findall(r": (\d+) succeeded</title>", page.text)
    failed = re.findall(r": (\d+) failed</title>", page.text)
    assert succeeded == ["76"] and failed == ["25"]
