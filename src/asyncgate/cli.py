"""The ``asyncgate`` command: serve, work (async requests and callouts), migrate, and manage
tenants, clients and users."""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import (
    AbstractAsyncContextManager,
    AsyncExitStack,
    asynccontextmanager,
    nullcontext,
)
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer
import uvloop
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from asyncgate.asyncreq.supervisor import WorkerProcess, stopped_with_parent
from asyncgate.auth import service
from asyncgate.auth.bootstrap import BootstrapCredentials, bootstrap_if_empty
from asyncgate.auth.roles import Role
from asyncgate.config import Settings, get_settings
from asyncgate.db.checkpoints import checkpointing
from asyncgate.db.engine import Database
from asyncgate.db.migrate import upgrade_to_head
from asyncgate.http.errors import ZuoraError
from asyncgate.notifications.leftover_events import dispatch_leftover_events
from asyncgate.notifications.urls import CalloutUrlRules
from asyncgate.runtime import tune_for_serving, yield_to_the_api

# Locals are never shown with a traceback: they hold passwords and client secrets.
app = typer.Typer(
    help="asyncgate: a Zuora-compatible API with durable asynchronous requests.",
    pretty_exceptions_show_locals=False,
)
tenants = typer.Typer(help="Manage tenants.")
clients = typer.Typer(help="Manage OAuth clients.")
users = typer.Typer(help="Manage console users.")
app.add_typer(tenants, name="tenants")
app.add_typer(clients, name="clients")
app.add_typer(users, name="users")

if TYPE_CHECKING:
    from fastapi import FastAPI

    from asyncgate.asyncreq.worker import Worker
    from asyncgate.notifications.sender import Sender

T = TypeVar("T")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# A Unix socket's path holds 108 bytes on Linux, 104 on macOS.
MAX_SOCKET_PATH = 100
log = logging.getLogger("asyncgate.serve")


def _run_with_database(
    settings: Settings,
    work: Callable[[Database], Awaitable[T]],
    *,
    gives_way: bool = False,
    announces_waits: bool = True,
) -> T:
    async def main() -> T:
        database = Database(settings, gives_way=gives_way, announces_waits=announces_waits)
        try:
            await _bring_up_to_date(database, settings)
            return await work(database)
        finally:
            await database.dispose()

    try:
        # uvloop, as the API's uvicorn runs: the worker's sends and commits cost less on it.
        return uvloop.run(main())
    except ZuoraError as error:
        _fail(str(error))
    except (OSError, SQLAlchemyError) as error:
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        detail = str(getattr(error, "orig", None) or error).splitlines()[0]
        _fail(f"the database {where} failed: {detail}")


async def _bring_up_to_date(database: Database, settings: Settings) -> None:
    """The schema migrated to the newest version, then the callout deliveries made of events
    that earlier versions recorded without them."""
    await upgrade_to_head(database.engine)
    await dispatch_leftover_events(database, settings)


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    dev: Annotated[bool, typer.Option("--dev", help="Development relaxations.")] = False,
    workers: Annotated[
        bool | None,
        typer.Option(
            "--workers/--no-workers",
            help="Also execute async requests, in a worker process this one supervises "
            "(default: ASYNCGATE_SERVE_WORKERS).",
        ),
    ] = None,
) -> None:
    """Migrate the database, bootstrap it when empty, and serve the API."""
    import uvicorn

    from asyncgate.app import create_app

    given = {"host": host, "port": port, "serve_workers": workers}
    overrides = {k: v for k, v in given.items() if v is not None}
    if dev:
        overrides["dev"] = True
    settings = get_settings().model_copy(update=overrides)
    _announce_dev_mode(settings)
    created = _run_with_database(settings, lambda db: bootstrap_if_empty(db, settings))
    if created is not None:
        _announce_bootstrap(created)
    # Only now: the migrations' own log lines would show otherwise.
    _configure_logging(settings)
    alongside = _worker_processes(settings, overrides) if settings.serve_workers else None
    uvicorn.run(
        create_app(settings, alongside=alongside),
        host=settings.host,
        port=settings.port,
        timeout_keep_alive=settings.keep_alive_seconds,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level,
        access_log=False,
    )


def _worker_processes(
    settings: Settings, overrides: Mapping[str, object]
) -> Callable[[], AbstractAsyncContextManager[None]]:
    """``serve``'s children, kept running while the returned context is entered."""

    @asynccontextmanager
    async def running() -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for child in _children(settings, overrides, stack):
                await stack.enter_async_context(child.running())
            yield

    return running


def _children(
    settings: Settings, overrides: Mapping[str, object], stack: AsyncExitStack
) -> list[WorkerProcess]:
    """``asyncgate worker``, and with ``serve_sender_process`` an ``asyncgate sender`` it
    hands its callouts to, over a socket in a folder of their own (started in this order, so
    stopped worker first)."""
    if not settings.serve_sender_process:
        return [_child(overrides, "worker")]
    folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="asyncgate-"))  # 0700
    link = os.path.join(folder, "sender.sock")
    if len(os.fsencode(link)) > MAX_SOCKET_PATH:
        log.warning(
            "%s is too long a path for a socket (set TMPDIR to a shorter folder); the worker "
            "process sends the callouts itself",
            link,
        )
        return [_child(overrides, "worker")]
    return [
        _child(overrides, "sender", "--listen", link),
        _child(overrides, "worker", "--callouts-to", link),
    ]


def _child(overrides: Mapping[str, object], *arguments: str) -> WorkerProcess:
    """``asyncgate <arguments>`` as ``serve``'s child, with ``serve``'s settings: the same
    environment, working folder and ``.env``, plus the options given on the command line."""
    command = [sys.executable, "-m", "asyncgate", arguments[0], "--until-stdin-closes"]
    given = {f"ASYNCGATE_{name.upper()}": str(value) for name, value in overrides.items()}
    return WorkerProcess([*command, *arguments[1:]], os.environ | given, name=arguments[0])


_UNTIL_STDIN_CLOSES = typer.Option(
    "--until-stdin-closes",
    hidden=True,
    help="Also stop, after the current batch, once standard input is closed "
    "(how `serve` keeps its child processes from outliving it).",
)


@app.command()
def worker(
    until_stdin_closes: Annotated[bool, _UNTIL_STDIN_CLOSES] = False,
    callouts_to: Annotated[
        str | None,
        typer.Option(
            "--callouts-to",
            hidden=True,
            help="Send no callouts here: hand them to the `asyncgate sender --listen` at this "
            "socket (how `serve` runs execution and delivery in two processes).",
        ),
    ] = None,
) -> None:
    """Migrate the database, execute async requests and deliver callouts until SIGTERM or
    Ctrl-C, which let the current batch and the callouts being sent finish (a second one stops
    at once)."""
    from asyncgate.app import create_app
    from asyncgate.asyncreq.worker import Worker, WorkerConfig
    from asyncgate.notifications.handoff import taking_new_deliveries
    from asyncgate.notifications.sender_link import LinkedSender

    settings = get_settings()
    _announce_dev_mode(settings)

    async def work(database: Database, stop: asyncio.Event) -> None:
        # Never served: the app is only the executor that replays requests through its routes.
        executor = create_app(settings, database)
        worker = Worker(executor, database, WorkerConfig.from_settings(settings))
        queue = executor.state.queue
        await queue.open()  # before the wake-ups watch it
        tune_for_serving()
        try:
            async with checkpointing(database.sqlite_file, *queue.files):
                typer.echo(f"{worker.owner} is executing async requests", err=True)
                if callouts_to is None:
                    await _with_sender(database, executor, worker, stop)
                else:
                    linked = LinkedSender(callouts_to, settings.worker_lease)
                    with taking_new_deliveries(linked):
                        await asyncio.gather(
                            worker.run(stop), linked.run(stop), queue.listen(worker.wake, stop)
                        )
        finally:
            queue.close()
        typer.echo(f"{worker.owner} stopped", err=True)

    _run_in_background(settings, work, until_stdin_closes)


async def _with_sender(
    database: Database, executor: FastAPI, worker: Worker, stop: asyncio.Event
) -> None:
    """``worker`` and a sender of this process, which its commits hand their callouts to."""
    from asyncgate.asyncreq import wakeup

    sender = _sender(database, executor)
    wakes = wakeup.Wakes(worker.wake, wakeup.Throttled(sender.wake, wakeup.SENDER_WAKE_INTERVAL))
    typer.echo(f"{sender.owner} is delivering callouts", err=True)
    queue = executor.state.queue
    try:
        await asyncio.gather(worker.run(stop), sender.run(stop), queue.listen(wakes, stop))
    finally:
        await sender.client.aclose()


@app.command()
def sender(
    until_stdin_closes: Annotated[bool, _UNTIL_STDIN_CLOSES] = False,
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen",
            hidden=True,
            help="Also take the callouts an `asyncgate worker --callouts-to` at this socket "
            "hands over as its commits make them.",
        ),
    ] = None,
) -> None:
    """Migrate the database and deliver callouts (no async requests) until SIGTERM or Ctrl-C,
    which let the callouts being sent finish (a second one stops at once)."""
    from asyncgate.app import create_app
    from asyncgate.asyncreq import wakeup
    from asyncgate.notifications.sender_link import serve_link

    settings = get_settings()
    _announce_dev_mode(settings)

    async def work(database: Database, stop: asyncio.Event) -> None:
        app = create_app(settings, database)
        sender = _sender(database, app)
        queue = app.state.queue
        await queue.open()
        tune_for_serving()
        wakes = wakeup.Throttled(sender.wake, wakeup.SENDER_WAKE_INTERVAL)
        jobs = [sender.run(stop), queue.listen(wakes, stop)]
        if listen is not None:
            jobs.append(serve_link(listen, sender, stop))
        typer.echo(f"{sender.owner} is delivering callouts", err=True)
        try:
            await asyncio.gather(*jobs)
        finally:
            await sender.client.aclose()
            queue.close()
        typer.echo(f"{sender.owner} stopped", err=True)

    # Its writes wait for the worker's transactions rather than cut them short.
    _run_in_background(settings, work, until_stdin_closes, announces_waits=False)


def _sender(database: Database, app: FastAPI) -> Sender:
    from asyncgate.notifications.callout_client import CalloutClient
    from asyncgate.notifications.sender import Sender

    settings = app.state.settings
    client = CalloutClient.from_settings(settings, max_connections=settings.callout_concurrency)
    return Sender(database, settings, app.state.secret_box, client)


def _run_in_background(
    settings: Settings,
    work: Callable[[Database, asyncio.Event], Awaitable[None]],
    until_stdin_closes: bool,
    *,
    announces_waits: bool = True,
) -> None:
    """Run ``work`` as a background process does (``worker``, ``sender``): niced, logging,
    stopped by the first SIGTERM or Ctrl-C, or with ``serve`` (``until_stdin_closes``)."""

    async def main(database: Database) -> None:
        _configure_logging(settings)
        stop = _stop_on_signals()
        async with stopped_with_parent(stop) if until_stdin_closes else nullcontext():
            await work(database, stop)

    # Accepts come first: a background process's writes wait for the API's (see
    # ``Database``), and its CPU time and disk I/O come after theirs.
    yield_to_the_api(settings.worker_niceness, settings.worker_io_class)
    _run_with_database(settings, main, gives_way=True, announces_waits=announces_waits)


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _announce_dev_mode(settings: Settings) -> None:
    """Says loudly which strict defaults are relaxed (all of them with ``--dev``)."""
    callout_relaxations = CalloutUrlRules.from_settings(settings).relaxations
    relaxed = []
    if callout_relaxations:
        relaxed.append(f"callouts may use {', '.join(callout_relaxations)}")
    if not settings.console_cookies_secure:
        relaxed.append("the console's cookies travel over plain HTTP")
    if relaxed:
        if settings.dev:
            mode = "DEVELOPMENT MODE"
        else:
            mode = "RELAXED CALLOUT RULES" if callout_relaxations else "RELAXED SETTINGS"
        typer.secho(
            f"{mode}: {'; '.join(relaxed)}. Never run this in production.",
            fg=typer.colors.YELLOW,
            bold=True,
            err=True,
        )


def _stop_on_signals() -> asyncio.Event:
    """An event the first SIGTERM or SIGINT sets; after it, those signals act as usual."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def first_signal() -> None:
        typer.echo("stopping after the current batch", err=True)
        stop.set()
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, first_signal)
    return stop


def _announce_bootstrap(created: BootstrapCredentials) -> None:
    lines = [
        "First start: created tenant 'default'.",
        f"  OAuth client_id:     {created.client_id}",
    ]
    if created.generated_client_secret:
        lines.append(f"  OAuth client_secret: {created.generated_client_secret}  (shown once)")
    lines.append(f"  Administrator:       {created.admin_email}")
    if created.generated_admin_password:
        lines.append(f"  Password:            {created.generated_admin_password}  (shown once)")
    typer.echo("\n".join(lines), err=True)


@app.command()
def migrate() -> None:
    """Apply database migrations up to the newest, and make the callout deliveries of events an
    earlier version left without them."""

    async def nothing(database: Database) -> None:
        return None

    _run_with_database(get_settings(), nothing)
    typer.echo("database is up to date")


@tenants.command("create")
def create_tenant(name: str) -> None:
    """Create a tenant."""

    async def work(database: Database) -> str:
        async with database.transaction() as session:
            return (await service.create_tenant(session, name)).id

    typer.echo(json.dumps({"id": _run_with_database(get_settings(), work), "name": name}))


@clients.command("create")
def create_client(
    tenant: Annotated[str, typer.Option(help="Tenant name.")],
    role: Annotated[
        Role, typer.Option(help="Role the client acts with.", case_sensitive=False)
    ] = Role.TENANT_ADMINISTRATOR,
    name: Annotated[str, typer.Option(help="A label for the client.")] = "api",
) -> None:
    """Create an OAuth client; prints its client_id and client_secret (shown once)."""

    async def work(database: Database) -> dict[str, str]:
        async with database.transaction() as session:
            owner = await service.get_tenant_by_name(session, tenant)
            client, secret = await service.create_client(session, owner, name=name, role=role)
            return {"client_id": client.client_id, "client_secret": secret, "role": role.value}

    typer.echo(json.dumps(_run_with_database(get_settings(), work)))


@clients.command("revoke")
def revoke_client(client_id: str) -> None:
    """Revoke an OAuth client: it gets no new tokens, and the ones it holds stop working
    within 1 s on every running server."""

    async def work(database: Database) -> dict[str, str]:
        async with database.transaction() as session:
            client = await service.revoke_client(session, client_id)
            assert client.revoked_at is not None  # revoking sets it
            return {"client_id": client.client_id, "revoked_at": client.revoked_at.isoformat()}

    typer.echo(json.dumps(_run_with_database(get_settings(), work)))


@users.command("create")
def create_user(
    tenant: Annotated[str, typer.Option(help="Tenant name.")],
    email: Annotated[str, typer.Option(help="Sign-in email.")],
    role: Annotated[Role, typer.Option(help="The user's role.", case_sensitive=False)],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a console user; the password comes from a prompt or standard input."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            _fail("the passwords differ")

    async def work(database: Database) -> dict[str, str]:
        async with database.transaction() as session:
            owner = await service.get_tenant_by_name(session, tenant)
            user = await service.create_user(
                session, owner, email=email, password=password, role=role
            )
            return {"id": user.id, "email": user.email, "role": role.value}

    typer.echo(json.dumps(_run_with_database(get_settings(), work)))
