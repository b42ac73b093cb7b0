"""Every API route runs in one transaction: the guard that keeps new routers honest."""

from __future__ import annotations

from asyncgate.asyncreq.routes import accept
from asyncgate.http.routing import UnitOfWorkRoute
from tests.http.endpoints import api_endpoints


class TestUnitOfWork:
    def test_every_api_route_runs_in_one_transaction(self, probe_app):
        # FastAPI's include_router keeps each route's own class, so a router that forgets
        # route_class=UnitOfWorkRoute would have no session (and no idempotency) at run time.
        # Async accepts are the one exception: they commit through the group-commit store.
        endpoints = [e for e in api_endpoints(probe_app) if e.route.endpoint is not accept]

        assert endpoints
        assert [str(e) for e in endpoints if not isinstance(e.route, UnitOfWorkRoute)] == []
