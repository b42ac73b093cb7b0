"""Adds the console to the application: its pages, its static files and its state."""

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
from asyncgate.console.dependencies import ConsoleState
from asyncgate.console.routes import public, router
from asyncgate.console.routing import PREFIX
from asyncgate.console.sessions import SessionPolicy
from asyncgate.console.throttle import SignInThrottle

STATIC = Path(__file__).parent / "static"


def mount_console(app: FastAPI, settings: Settings) -> None:
    app.state.console = ConsoleState(
        SessionPolicy.from_settings(settings), SignInThrottle.from_settings(settings)
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
