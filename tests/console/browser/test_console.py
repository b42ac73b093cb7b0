"""The console as an operator uses it, in Chromium: sign in, set up the callout of the seed
through Add New Notification, watch an async request sent through the API succeed, find its
callout in the history and resend it; a Standard user changes nothing; a forged form is
refused."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.billing.api import account_body
from tests.console.browser.conftest import VIEWER_PASSWORD, sign_in
from tests.support.receiver import WAIT_SECONDS

pytestmark = pytest.mark.e2e

WAIT_MS = WAIT_SECONDS * 1000


def reload_until_shown(page: Page, locator: Locator) -> None:
    """Reloads ``page`` until ``locator`` is on it: for what the worker process records
    moments after the event a test waited for."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not locator.count():
        assert time.monotonic() < deadline, f"{locator} did not appear on {page.url}"
        page.wait_for_timeout(200)
        page.reload()


def add_notification(page: Page, name: str, url: str) -> None:
    """The seed's steps, on the form that is open."""
    page.get_by_label("Related Event").select_option("Async Request Succeeded")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Active", exact=True).check()
    page.get_by_label("Callout", exact=True).check()
    page.get_by_label("Base URL").fill(url)
    page.get_by_label("Http Method").select_option("POST")
    page.get_by_role("button", name="Add New Notification").click()


def open_add_new_notification(page: Page) -> None:
    page.get_by_role("link", name="Notifications", exact=True).click()
    page.get_by_role("link", name="Add New Notification").click()
    expect(page.get_by_role("heading", name="Add New Notification")).to_be_visible()


def test_signing_in_and_out(page: Page, screenshot):
    page.goto("/console/requests")
    expect(page).to_have_url(re.compile(r"/console/sign-in\?next=%2Fconsole%2Frequests$"))
    screenshot(page, "sign-in")
    page.get_by_label("Email").fill("admin@example.com")
    page.get_by_label("Password").fill("a wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Invalid tenant, email or password")
    sign_in(page, "admin@example.com", "console-admin-password")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/console")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_add_new_notification_shows_url_errors_beside_the_field(
    admin_page: Page, console_receiver, screenshot
):
    page = admin_page
    open_add_new_notification(page)
    screenshot(page, "add-new-notification")
    name = f"Async succeeded {uuid.uuid4().hex[:6]}"
    host = console_receiver.host
    add_notification(page, name, f"http://{host}/callouts/plain")
    error = page.locator("#callout_baseurl-error")
    expect(error).to_contain_text("must start with https://")
    expect(page.get_by_label("Base URL")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "add-new-notification-error")
    add_notification(page, name, f"https://{host}:8443/callouts/port")
    expect(error).to_contain_text("must not name a port")
    add_notification(page, name, console_receiver.url(console_receiver.new_path()))
    expect(page.get_by_role("status")).to_have_text("The notification was created.")
    expect(page.get_by_role("row", name=name)).to_contain_text("Async Request Succeeded")
    screenshot(page, "notifications")


def test_an_async_request_succeeds_and_its_callout_is_resent(
    admin_page: Page, api, console_receiver, screenshot
):
    page = admin_page
    path = console_receiver.new_path()
    name = f"Watched {uuid.uuid4().hex[:6]}"
    open_add_new_notification(page)
    add_notification(page, name, console_receiver.url(path))
    expect(page.get_by_role("status")).to_have_text("The notification was created.")

    track_id = f"console-{uuid.uuid4().hex[:12]}"
    accepted = api.post(
        "/v1/async/accounts", json=account_body(), headers={"Zuora-Track-Id": track_id}
    )
    assert accepted.status_code == 202, accepted.text
    request_id = accepted.json()["requestId"]

    page.get_by_role("link", name="Async requests", exact=True).click()
    page.get_by_label("Track ID").fill(track_id)
    page.get_by_role("button", name="Filter").click()
    # A request just accepted may wait a moment in the inbox before it is listed.
    row = page.get_by_role("row").filter(has_text=track_id)
    reload_until_shown(page, row)
    screenshot(page, "async-requests")
    row.get_by_role("link").click()
    expect(page.locator("#request-state")).to_have_text("succeeded", timeout=WAIT_MS)

    console_receiver.wait_for(path, 1)
    callout = page.get_by_role("row").filter(has_text=name)
    reload_until_shown(page, callout)
    expect(callout).to_contain_text("200")
    screenshot(page, "async-request")

    callout.get_by_role("link").click()
    expect(page.locator("#callout-outcome")).to_have_text("delivered")
    expect(page.locator("#response-content")).to_have_text('{"success": true}')
    screenshot(page, "callout")
    page.get_by_role("button", name="Resend").click()
    expect(page.get_by_role("status")).to_contain_text("1 callout will be sent again")
    screenshot(page, "callout-resent")
    arrivals = console_receiver.wait_for(path, 2)
    assert (
        arrivals[0].headers["zuora-notification-id"] == arrivals[1].headers["zuora-notification-id"]
    )

    page.get_by_role("link", name="Callout history", exact=True).click()
    page.get_by_label("Object ID (the async request)").fill(request_id)
    page.get_by_label("Failed only").uncheck()
    page.get_by_role("button", name="Filter").click()
    resent = page.get_by_role("row").filter(has_text=name).nth(1)
    reload_until_shown(page, resent)
    screenshot(page, "callout-history")


def test_callout_settings_and_a_signing_secret_shown_once(admin_page: Page, screenshot):
    page = admin_page
    page.get_by_role("link", name="Callout settings", exact=True).click()
    page.get_by_label("Attempts per callout (1 to 5)").fill("9")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#max_attempts-error")).to_contain_text("less than or equal to 5")
    page.get_by_label("Attempts per callout (1 to 5)").fill("3")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("The callout settings were saved.")
    page.get_by_role("button", name=re.compile("signing secret")).click()
    expect(page.locator("#new-secret")).to_have_text(re.compile(r"^whsec_"))
    screenshot(page, "callout-settings")
    page.get_by_role("link", name="Callout settings", exact=True).click()
    expect(page.locator("#new-secret")).to_have_count(0)


def test_a_standard_user_sees_everything_and_changes_nothing(page: Page, viewer, api, screenshot):
    made = api.post(
        "/notifications/notification-definitions",
        json={
            "name": f"Seen, not changed {uuid.uuid4().hex[:6]}",
            "eventTypeName": "Async Request Failed",
        },
    )
    assert made.status_code == 200, made.text
    definition_id = made.json()["id"]
    sign_in(page, viewer, VIEWER_PASSWORD)
    page.get_by_role("link", name="Notifications", exact=True).click()
    expect(page.get_by_role("link", name=made.json()["name"])).to_be_visible()
    expect(page.get_by_role("link", name="Add New Notification")).to_have_count(0)
    expect(page.locator("main").get_by_role("button")).to_have_count(0)
    screenshot(page, "notifications-read-only")
    page.get_by_role("link", name=made.json()["name"]).click()
    expect(page.get_by_label("Name", exact=True)).to_be_disabled()
    expect(page.locator("main").get_by_role("button")).to_have_count(0)
    page.get_by_role("link", name="Callout settings", exact=True).click()
    expect(page.locator("main").get_by_role("button")).to_have_count(0)

    # Even a well-formed form, with the session's own token, is refused.
    token = page.locator('header input[name="csrf_token"]').input_value()
    refused = page.request.post(
        f"/console/settings/notifications/{definition_id}/delete",
        form={"csrf_token": token},
    )
    assert refused.status == 403
    assert api.get(f"/notifications/notification-definitions/{definition_id}").status_code == 200


def test_a_forged_form_without_its_token_is_refused(admin_page: Page, api, screenshot):
    made = api.post(
        "/notifications/notification-definitions",
        json={"name": f"Forged at {uuid.uuid4().hex[:6]}", "eventTypeName": "Async Request Failed"},
    )
    definition_id = made.json()["id"]
    page = admin_page
    page.get_by_role("link", name="Notifications", exact=True).click()
    row = page.get_by_role("row").filter(has_text=made.json()["name"])
    # What a forger's copy of the form would lack: the token only this session's pages carry.
    row.locator('input[name="csrf_token"]').evaluate_all(
        "inputs => inputs.forEach(i => i.remove())"
    )
    row.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("did not come from this console")
    screenshot(page, "forged-form-refused")
    assert api.get(f"/notifications/notification-definitions/{definition_id}").status_code == 200
