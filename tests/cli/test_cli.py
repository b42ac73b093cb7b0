"""The ``asyncgate`` command, run as a real process on a temporary SQLite database (and on the
test backend where the database itself is what a test is about).

The tests on the temporary SQLite database are the same whatever the backend: they run in the
SQLite run only (each starts ``asyncgate`` processes, seconds of a CPU apiece)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import insert, select

from asyncgate.app import create_app
from asyncgate.cli import _announce_dev_mode as announce_dev_mode
from asyncgate.config import Settings
from asyncgate.db.base import new_id, utcnow
from asyncgate.db.engine import Database
from asyncgate.notifications.leftover_events import BATCH_SIZE as LEFTOVER_BATCH_SIZE
from asyncgate.notifications.models import CalloutDelivery
from asyncgate.notifications.outbox import OutboxEvent
from tests.conftest import BACKEND
from tests.factories import TenantContext, make_tenant
from tests.notifications.api import SUCCEEDED, callout_body, create_definition

ASYNCGATE = Path(sys.executable).parent / "asyncgate"

on_its_own_sqlite_database = pytest.mark.skipif(
    BACKEND != "sqlite", reason="a SQLite database of its own, whatever the backend"
)


@dataclass(frozen=True)
class Cli:
    folder: Path
    database_url: str
    tenant: str = "shared"

    @property
    def database_file(self) -> Path:
        return self.folder / "asyncgate.db"

    def run(
        self, *args: str, stdin: str | None = None, database_url: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        # Only this test's settings: none inherited from the caller's environment or .env.
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCGATE_")}
        env["ASYNCGATE_DATABASE_URL"] = database_url or self.database_url
        env["ASYNCGATE_DATA_DIR"] = str(self.folder / "data")
        return subprocess.run(
            [str(ASYNCGATE), *args],
            input=stdin,
            check=False,
            capture_output=True,
            text=True,
            cwd=self.folder,
            env=env,
            timeout=60,
        )

    def ok(self, *args: str, stdin: str | None = None) -> dict:
        result = self.run(*args, stdin=stdin)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


def assert_clean_failure(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")
    assert re.search(message, result.stderr), result.stderr


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    folder = tmp_path_factory.mktemp("cli")
    cli = Cli(folder, f"sqlite+aiosqlite:///{folder / 'asyncgate.db'}")
    cli.ok("tenants", "create", cli.tenant)
    return cli


@pytest.fixture
async def app_on_cli_database(cli: Cli) -> AsyncIterator[httpx.AsyncClient]:
    """The API in-process on the database the commands wrote."""
    settings = Settings(database_url=cli.database_url, data_dir=cli.folder, _env_file=None)
    database = Database(settings)
    transport = httpx.ASGITransport(app=create_app(settings, database))
    async with httpx.AsyncClient(transport=transport, base_url="http://asyncgate.test") as client:
        yield client
    await database.dispose()


def token_form(client: dict) -> dict[str, str]:
    return {
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
        "grant_type": "client_credentials",
    }


@on_its_own_sqlite_database
class TestMigrate:
    def test_migrate_creates_the_schema_on_a_new_database(self, tmp_path):
        cli = Cli(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'asyncgate.db'}")

        result = cli.run("migrate")

        assert result.returncode == 0, result.stderr
        assert "up to date" in result.stdout
        with sqlite3.connect(cli.database_file) as connection:
            tables = {row[0] for row in connection.execute("select name from sqlite_master")}
            (version,) = connection.execute("select version_num from alembic_version").fetchone()
        assert {"tenants", "oauth_clients", "access_tokens", "users"} <= tables
        assert version

    def test_migrating_twice_changes_nothing(self, cli):
        result = cli.run("migrate")

        assert result.returncode == 0, result.stderr


def old_event(tenant: TenantContext, dispatched_at: datetime | None = None) -> dict[str, object]:
    """An outbox event as older versions wrote it: alone, its deliveries left to a dispatcher
    (``dispatched_at`` null until it ran)."""
    request_id = str(uuid.uuid4())
    return {
        "id": new_id(),
        "tenant_id": tenant.tenant_id,
        "event_type": SUCCEEDED,
        "object_id": request_id,
        "payload": {"state": "succeeded", "request": {"id": request_id}},
        "created_at": utcnow(),
        "dispatched_at": dispatched_at,
    }


async def deliveries_made(database: Database) -> list[tuple[str, str, int]]:
    """Every delivery, as (event, definition, attempts allowed)."""
    async with database.read_transaction() as session:
        rows = await session.execute(
            select(
                CalloutDelivery.event_id,
                CalloutDelivery.definition_id,
                CalloutDelivery.max_attempts,
            )
        )
        return sorted(tuple(row) for row in rows)


class TestMigrateDispatchesLeftoverEvents:
    """Events an older version recorded without their callout deliveries get them when the
    database is brought up to date, once."""

    async def test_each_left_event_gets_its_deliveries_once(self, fresh_database_url, tmp_path):
        cli = Cli(tmp_path, fresh_database_url("leftover_events"))
        assert cli.run("migrate").returncode == 0
        settings = Settings(
            database_url=cli.database_url, data_dir=tmp_path / "data", _env_file=None
        )
        database = Database(settings)
        try:
            tenant = await make_tenant(database)
            app = create_app(settings, database)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t.test") as client:
                retried = await create_definition(client, tenant)
                once = await create_definition(
                    client, tenant, name="once", callout=callout_body(calloutRetry=False)
                )
            # Its concurrency slots back now, as a stopping server gives them back.
            await app.state.rate_limits.close()
            # More than a batch, and one event an older version had dispatched already.
            left = [old_event(tenant) for _ in range(LEFTOVER_BATCH_SIZE + 1)]
            async with database.transaction() as session:
                await session.execute(
                    insert(OutboxEvent.__table__), [*left, old_event(tenant, utcnow())]
                )

            first = cli.run("migrate")
            made = await deliveries_made(database)
            second = cli.run("migrate")
            made_again = await deliveries_made(database)
        finally:
            await database.dispose()

        assert first.returncode == second.returncode == 0, first.stderr + second.stderr
        assert made == sorted(
            (event["id"], definition, attempts)
            for event in left
            for definition, attempts in ((retried["id"], 3), (once["id"], 1))
        )
        assert made_again == made


@on_its_own_sqlite_database
class TestTenants:
    def test_create_prints_the_tenant_as_json(self, cli):
        name = unique("acme")

        created = cli.ok("tenants", "create", name)

        assert created["name"] == name
        assert re.fullmatch(r"[0-9a-f]{32}", created["id"])

    def test_a_duplicate_tenant_is_a_clean_error(self, cli):
        name = unique("twice")
        cli.ok("tenants", "create", name)

        assert_clean_failure(cli.run("tenants", "create", name), "already exists")

    def test_a_blank_name_is_a_clean_error(self, cli):
        assert_clean_failure(cli.run("tenants", "create", "  "), "name must be 1 to 100")


@on_its_own_sqlite_database
class TestClients:
    def test_create_prints_sdk_compatible_credentials(self, cli):

        client = cli.ok("clients", "create", "--tenant", cli.tenant)

        assert len(client["client_id"]) == 36
        assert str(uuid.UUID(client["client_id"])) == client["client_id"]
        assert 0 < len(client["client_secret"]) <= 42
        assert client["role"] == "Tenant administrator"

    def test_a_role_can_be_chosen_in_any_case(self, cli):

        client = cli.ok(
            "clients", "create", "--tenant", cli.tenant, "--role", "billing administrator"
        )

        assert client["role"] == "Billing administrator"

    def test_an_unknown_role_is_refused(self, cli):

        result = cli.run("clients", "create", "--tenant", cli.tenant, "--role", "Emperor")

        assert result.returncode != 0
        assert "Traceback" not in result.stderr

    def test_an_unknown_tenant_is_a_clean_error(self, cli):
        assert_clean_failure(
            cli.run("clients", "create", "--tenant", unique("nobody")), "does not exist"
        )

    async def test_the_printed_credentials_get_a_working_token(self, cli, app_on_cli_database):
        client = cli.ok("clients", "create", "--tenant", cli.tenant)

        response = await app_on_cli_database.post("/oauth/token", data=token_form(client))

        assert response.status_code == 200, response.text

    async def test_a_revoked_client_gets_no_more_tokens(self, cli, app_on_cli_database):
        client = cli.ok("clients", "create", "--tenant", cli.tenant)

        revoked = cli.ok("clients", "revoke", client["client_id"])

        assert revoked["client_id"] == client["client_id"]
        response = await app_on_cli_database.post("/oauth/token", data=token_form(client))
        assert response.status_code == 401


@on_its_own_sqlite_database
class TestUsers:
    def test_create_reads_the_password_from_stdin(self, cli):
        user = cli.ok(
            "users", "create", "--tenant", cli.tenant, "--email", " Ada@Example.com ",
            "--role", "Standard user", "--password-stdin",
            stdin="a long enough password\n",
        )  # fmt: skip

        assert user["email"] == "ada@example.com"
        assert user["role"] == "Standard user"
        with sqlite3.connect(cli.database_file) as connection:
            (stored,) = connection.execute(
                "select password_hash from users where id = ?", (user["id"],)
            ).fetchone()
        assert stored.startswith("$argon2id$")
        assert "a long enough password" not in stored

    @pytest.mark.parametrize(
        ("email", "password", "message"),
        [
            ("short@example.com", "short\n", "at least 8 characters"),
            ("not-an-email", "a long enough password\n", "not an email address"),
        ],
    )
    def test_bad_input_is_a_clean_error(self, cli, email, password, message):
        result = cli.run(
            "users", "create", "--tenant", cli.tenant, "--email", email,
            "--role", "Standard user", "--password-stdin",
            stdin=password,
        )  # fmt: skip

        assert_clean_failure(result, message)

    def test_a_duplicate_user_is_a_clean_error(self, cli):
        args = ("users", "create", "--tenant", cli.tenant, "--email", "bo@example.com",
                "--role", "Standard user", "--password-stdin")  # fmt: skip
        cli.ok(*args, stdin="a long enough password\n")

        assert_clean_failure(cli.run(*args, stdin="another password\n"), "already exists")


@on_its_own_sqlite_database
class TestDatabaseFailures:
    def test_an_unreachable_database_is_a_clean_error_that_hides_the_password(self, cli):
        result = cli.run(
            "tenants",
            "create",
            unique("x"),
            database_url="postgresql+asyncpg://asyncgate:hunter2@127.0.0.1:1/asyncgate",
        )

        assert_clean_failure(result, "database")
        assert "hunter2" not in result.stderr


class TestRelaxedCalloutRules:
    def test_dev_mode_names_every_relaxation(self, capsys):
        announce_dev_mode(Settings(dev=True, _env_file=None))

        assert "DEVELOPMENT MODE: callouts may use http://, private addresses, explicit ports" in (
            capsys.readouterr().err
        )

    def test_a_relaxation_set_on_its_own_is_announced_too(self, capsys):
        announce_dev_mode(Settings(callout_allow_private_addresses=True, _env_file=None))

        assert (
            "RELAXED CALLOUT RULES: callouts may use private addresses" in capsys.readouterr().err
        )

    def test_console_cookies_over_plain_http_are_announced(self, capsys):
        announce_dev_mode(Settings(console_secure_cookies=False, _env_file=None))

        assert (
            "RELAXED SETTINGS: the console's cookies travel over plain HTTP"
            in capsys.readouterr().err
        )

    def test_strict_rules_are_not_announced(self, capsys):
        announce_dev_mode(Settings(_env_file=None))

        assert capsys.readouterr().err == ""
