"""The console as an operator uses it, in Chromium: sign in, set up the callout of the seed
through Add New Notification, watch an async request sent through the API succeed, find its
callout in the history and resend it; a Standard user changes nothing; a forged form is
refused."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import pytest
from playwright.async_api import Locator, Page, expect

from tests.billing.api import account_body
from tests.conftest import BACKEND
from tests.console.browser.conftest import VIEWER_PASSWORD, sign_in
from tests.support.receiver import WAIT_SECONDS

# In the SQLite run only: what the pages show of the database is checked on both backends
# in-process (``tests/console``); Chromium costs half a minute of CPU a run.
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(BACKEND != "sqlite", reason="the browser on SQLite; the pages on both"),
]

WAIT_MS = WAIT_SECONDS * 1000


async def reload_until_shown(page: Page, locator: Locator) -> None:
    """Reloads ``page`` until ``locator`` is on it: for what the worker process records
    moments after the event a test waited for."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not await locator.count():
        assert time.monotonic() < deadline, f"{locator} did not appear on {page.url}"
        await page.wait_for_timeout(200)
        await page.reload()


async def add_notification(page: Page, name: str, url: str) -> None:
    """The seed's steps, on the form that is open."""
    await page.get_by_label("Related Event").select_option("Async Request Succeeded")
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_label("Active", exact=True).check()
    await page.get_by_label("Callout", exact=True).check()
    await page.get_by_label("Base URL").fill(url)
    await page.get_by_label("Http Method").select_option("POST")
    await page.get_by_role("button", name="Add New Notification").click()


async def open_add_new_notification(page: Page) -> None:
    await page.get_by_role("link", name="Notifications", exact=True).click()
    await page.get_by_role("link", name="Add New Notification").click()
    await expect(page.get_by_role("heading", name="Add New Notification")).to_be_visible()


async def test_signing_in_and_out(page: Page, screenshot):
    await page.goto("/console/requests")
    await expect(page).to_have_url(re.compile(r"/console/sign-in\?next=%2Fconsole%2Frequests$"))
    await screenshot(page, "sign-in")
    await page.get_by_label("Email").fill("admin@example.com")
    await page.get_by_label("Password").fill("a wrong password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("Invalid tenant, email or password")
    await sign_in(page, "admin@example.com", "console-admin-password")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.goto("/console")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_add_new_notification_shows_url_errors_beside_the_field(
    admin_page: Page, console_receiver, screenshot
):
    page = admin_page
    await open_add_new_notification(page)
    await screenshot(page, "add-new-notification")
    name = f"Async succeeded {uuid.uuid4().hex[:6]}"
    host = console_receiver.host
    await add_notification(page, name, f"http://{host}/callouts/plain")
    error = page.locator("#callout_baseurl-error")
    await expect(error).to_contain_text("must start with https://")
    await expect(page.get_by_label("Base URL")).to_have_attribute("aria-invalid", "true")
    await screenshot(page, "add-new-notification-error")
    await add_notification(page, name, f"https://{host}:8443/callouts/port")
    await expect(error).to_contain_text("must not name a port")
    await add_notification(page, name, console_receiver.url(console_receiver.new_path()))
    await expect(page.get_by_role("status")).to_have_text("The notification was created.")
    await expect(page.get_by_role("row", name=name)).to_contain_text("Async Request Succeeded")
    await screenshot(page, "notifications")


async def test_an_async_request_succeeds_and_its_callout_is_resent(
    admin_page: Page, api, console_receiver, screenshot
):
    page = admin_page
    path = console_receiver.new_path()
    name = f"Watched {uuid.uuid4().hex[:6]}"
    await open_add_new_notification(page)
    await add_notification(page, name, console_receiver.url(path))
    await expect(page.get_by_role("status")).to_have_text("The notification was created.")

    track_id = f"console-{uuid.uuid4().hex[:12]}"
    accepted = api.post(
        "/v1/async/accounts", json=account_body(), headers={"Zuora-Track-Id": track_id}
    )
    assert accepted.status_code == 202, accepted.text
    request_id = accepted.json()["requestId"]

    await page.get_by_role("link", name="Async requests", exact=True).click()
    await page.get_by_label("Track ID").fill(track_id)
    await page.get_by_role("button", name="Filter").click()
    # A request just accepted may wait a moment in the inbox before it is listed.
    row = page.get_by_role("row").filter(has_text=track_id)
    await reload_until_shown(page, row)
    await screenshot(page, "async-requests")
    await row.get_by_role("link").click()
    await expect(page.locator("#request-state")).to_have_text("succeeded", timeout=WAIT_MS)

    await asyncio.to_thread(console_receiver.wait_for, path, 1)
    callout = page.get_by_role("row").filter(has_text=name)
    await reload_until_shown(page, callout)
    await expect(callout).to_contain_text("200")
    await screenshot(page, "async-request")

    await callout.get_by_role("link").click()
    await expect(page.locator("#callout-outcome")).to_have_text("delivered")
    await expect(page.locator("#response-content")).to_have_text('{"success": true}')
    await screenshot(page, "callout")
    await page.get_by_role("button", name="Resend").click()
    await expect(page.get_by_role("status")).to_contain_text("1 callout will be sent again")
    await screenshot(page, "callout-resent")
    arrivals = await asyncio.to_thread(console_receiver.wait_for, path, 2)
    assert (
        arrivals[0].headers["zuora-notification-id"] == arrivals[1].headers["zuora-notification-id"]
    )

    await page.get_by_role("link", name="Callout history", exact=True).click()
    await page.get_by_label("Object ID (the async request)").fill(request_id)
    await page.get_by_label("Failed only").uncheck()
    await page.get_by_role("button", name="Filter").click()
    resent = page.get_by_role("row").filter(has_text=name).nth(1)
    await reload_until_shown(page, resent)
    await screenshot(page, "callout-history")


async def test_callout_settings_and_a_signing_secret_shown_once(admin_page: Page, screenshot):
    page = admin_page
    await page.get_by_role("link", name="Callout settings", exact=True).click()
    await page.get_by_label("Attempts per callout (1 to 5)").fill("9")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#max_attempts-error")).to_contain_text("less than or equal to 5")
    await page.get_by_label("Attempts per callout (1 to 5)").fill("3")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("The callout settings were saved.")
    await page.get_by_role("button", name=re.compile("signing secret")).click()
    await expect(page.locator("#new-secret")).to_have_text(re.compile(r"^whsec_"))
    await screenshot(page, "callout-settings")
    await page.get_by_role("link", name="Callout settings", exact=True).click()
    await expect(page.locator("#new-secret")).to_have_count(0)


async def test_a_standard_user_sees_everything_and_changes_nothing(
    page: Page, viewer, api, screenshot
):
    made = api.post(
        "/notifications/notification-definitions",
        json={
            "name": f"Seen, not changed {uuid.uuid4().hex[:6]}",
            "eventTypeName": "Async Request Failed",
        },
    )
    assert made.status_code == 200, made.text
    definition_id = made.json()["id"]
    await sign_in(page, viewer, VIEWER_PASSWORD)
    await page.get_by_role("link", name="Notifications", exact=True).click()
    await expect(page.get_by_role("link", name=made.json()["name"])).to_be_visible()
    await expect(page.get_by_role("link", name="Add New Notification")).to_have_count(0)
    await expect(page.locator("main").get_by_role("button")).to_have_count(0)
    await screenshot(page, "notifications-read-only")
    await page.get_by_role("link", name=made.json()["name"]).click()
    await expect(page.get_by_label("Name", exact=True)).to_be_disabled()
    await expect(page.locator("main").get_by_role("button")).to_have_count(0)
    await page.get_by_role("link", name="Callout settings", exact=True).click()
    await expect(page.locator("main").get_by_role("button")).to_have_count(0)

    # Even a well-formed form, with the session's own token, is refused.
    token = await page.locator('header input[name="csrf_token"]').input_value()
    refused = await page.request.post(
        f"/console/settings/notifications/{definition_id}/delete",
        form={"csrf_token": token},
    )
    assert refused.status == 403
    assert api.get(f"/notifications/notification-definitions/{definition_id}").status_code == 200


async def test_a_forged_form_without_its_token_is_refused(admin_page: Page, api, screenshot):
    made = api.post(
        "/notifications/notification-definitions",
        json={"name": f"Forged at {uuid.uuid4().hex[:6]}", "eventTypeName": "Async Request Failed"},
    )
    definition_id = made.json()["id"]
    page = admin_page
    await page.get_by_role("link", name="Notifications", exact=True).click()
    row = page.get_by_role("row").filter(has_text=made.json()["name"])
    # What a forger's copy of the form would lack: the token only this session's pages carry.
    await row.locator('input[name="csrf_token"]').evaluate_all(
        "inputs => inputs.forEach(i => i.remove())"
    )
    await row.get_by_role("button", name="Delete").click()
    await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("did not come from this console")
    await screenshot(page, "forged-form-refused")
    assert api.get(f"/notifications/notification-definitions/{definition_id}").status_code == 200


async def test_an_api_client_is_created_with_its_secret_shown_once_and_revoked(
    admin_page: Page, screenshot
):
    page = admin_page
    name = f"Console-made {uuid.uuid4().hex[:6]}"
    await page.get_by_role("link", name="API clients", exact=True).click()
    await page.get_by_label("Client name").fill(name)
    await page.get_by_label("Role").select_option("Standard user")
    await page.get_by_role("button", name="Create client").click()
    secret = await page.locator("#new-client-secret").text_content()
    client_id = await page.locator("#new-client-id").text_content()
    await expect(page.get_by_role("row", name=name)).to_contain_text("Active")
    await screenshot(page, "api-clients")
    token = await page.request.post(
        "/oauth/token",
        form={"client_id": client_id, "client_secret": secret, "grant_type": "client_credentials"},
    )
    assert token.status == 200, await token.text()
    await page.get_by_role("link", name="API clients", exact=True).click()
    await expect(page.locator("#new-client-secret")).to_have_count(0)
    await page.get_by_role("row", name=name).get_by_role("button", name="Revoke").click()
    await expect(page.get_by_role("status")).to_contain_text("The client was revoked")
    await expect(page.get_by_role("row", name=name)).to_contain_text("Revoked")


async def test_a_tenant_administrator_manages_users(admin_page: Page, screenshot):
    page = admin_page
    email = f"operator-{uuid.uuid4().hex[:6]}@example.com"
    await page.get_by_role("link", name="Users", exact=True).click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Initial password").fill("operator-password")
    await page.get_by_label("Role", exact=True).select_option("Billing administrator")
    await page.get_by_role("button", name="Create user").click()
    await expect(page.get_by_role("status")).to_have_text("The user was created.")
    row = page.get_by_role("row").filter(has_text=email)
    await row.get_by_label(f"Role of {email}").select_option("Finance administrator")
    await row.get_by_role("button", name="Change role").click()
    await expect(page.get_by_role("status")).to_have_text("The role was changed.")
    await row.get_by_role("button", name="Disable").click()
    await expect(row).to_contain_text("Disabled")
    own = page.get_by_role("row").filter(has_text="admin@example.com")
    await own.get_by_role("button", name="Disable").click()
    await expect(page.get_by_role("alert")).to_contain_text("last active Tenant administrator")
    await screenshot(page, "users")


async def test_the_dashboard_draws_the_last_hour(admin_page: Page, api, screenshot):
    for _ in range(3):
        accepted = api.post("/v1/async/accounts", json=account_body())
        assert accepted.status_code == 202, accepted.text
    page = admin_page
    await page.get_by_role("link", name="asyncgate console").click()
    await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    await expect(page.locator('meta[http-equiv="refresh"]')).to_have_attribute("content", "10")
    bars = page.locator("#accepted-chart rect")
    await reload_until_shown(page, bars)
    await expect(page.get_by_role("img", name=re.compile("^Accepted per minute"))).to_be_visible()
    await reload_until_shown(page, page.locator("#outcomes-chart rect"))
    await expect(page.locator("#start-p99")).to_have_text(re.compile(r"^\d+\.\d{3} s$"))
    await screenshot(page, "dashboard")
