"""Adds the console to the application: its pages, its static files and its state. The
middleware that puts its security headers on every answer under ``/console`` is added by
``app.create_app``, around the API's conventions, so that their refusals carry them too."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from asyncgate.config import Settings
from asyncgate.console import (
    client_pages,
    dashboard_pages,
    history_pages,
    notification_pages,
    request_pages,
    user_pages,
)
from asyncgate.console.csrf import SignInTokens
from asyncgate.console.dependencies import ConsoleState
from asyncgate.console.routes import public, router
from asyncgate.console.routing import PREFIX
from asyncgate.console.sessions import SessionPolicy
from asyncgate.console.throttle import SignInThrottle
from asyncgate.secretbox import load_secret_key

STATIC = Path(__file__).parent / "static"


def mount_console(app: FastAPI, settings: Settings) -> None:
    app.state.console = ConsoleState(
        SessionPolicy.from_settings(settings),
        SignInThrottle.from_settings(settings),
        # Derived from the server's secret key, which every process of one installation shares.
        SignInTokens.from_secret_key(load_secret_key(settings)),
    )
    app.include_router(public)
    app.include_router(router)
    app.include_router(dashboard_pages.router)
    app.include_router(notification_pages.router)
    app.include_router(request_pages.router)
    app.include_router(history_pages.router)
    app.include_router(client_pages.router)
    app.include_router(user_pages.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")
