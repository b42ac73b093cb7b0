"""The peer's Celery app and its one task: create the account, then post the callout.

Redis is the broker; a task is acknowledged only once it has run (``acks_late``), so a worker
that dies mid-task leaves it to run again; results are not kept. The task inserts the account
with SQLAlchemy into a SQLite file (WAL, ``synchronous=FULL``: every commit is on disk, as in
asyncgate by default), then posts the ``Async Request Succeeded`` callout with httpx, signed
as asyncgate signs it (Standard Webhooks), and retries with Celery's retry when that fails.
The callout's ``Zuora-Notification-Id`` is the task's ID, which its retries keep.

Configured from the environment (the benchmark sets it): ``PEER_BROKER_URL``,
``PEER_DATABASE`` (the SQLite file), ``PEER_CALLOUT_URL``, ``PEER_CA_BUNDLE`` (the receiver's
CA), ``PEER_SIGNING_SECRET`` (``whsec_...``) and ``PEER_PREFETCH``.

    celery -A tasks worker --pool threads --concurrency 8
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import ssl
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from celery import Celery
from celery.signals import worker_init, worker_process_init
from sqlalchemy import Column, DateTime, MetaData, String, Table, create_engine, event
from sqlalchemy.dialects.sqlite import insert

BROKER_URL = os.environ.get("PEER_BROKER_URL", "redis://127.0.0.1:6379/0")
DATABASE = os.environ.get("PEER_DATABASE", "peer.db")
CALLOUT_URL = os.environ.get("PEER_CALLOUT_URL", "https://127.0.0.1:8443/callouts")
CA_BUNDLE = os.environ.get("PEER_CA_BUNDLE")
SIGNING_SECRET = os.environ.get("PEER_SIGNING_SECRET", "")
MAX_RETRIES = 8

celery = Celery("peer", broker=BROKER_URL)
celery.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,  # a task whose worker process died runs again
    worker_prefetch_multiplier=int(os.environ.get("PEER_PREFETCH", "4")),
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
)

metadata = MetaData()
accounts = Table(
    "accounts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("request_id", String(36), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("bill_to_first_name", String(100), nullable=False),
    Column("bill_to_last_name", String(100), nullable=False),
    Column("bill_to_work_email", String(80)),
    Column("created_at", DateTime, nullable=False),
)

engine = create_engine(f"sqlite:///{DATABASE}", pool_size=16)


@event.listens_for(engine, "connect")
def _durable(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


http = httpx.Client(
    verify=ssl.create_default_context(cafile=CA_BUNDLE),
    timeout=httpx.Timeout(10.0),
    follow_redirects=False,
)


@worker_init.connect
def _create_tables(**_: Any) -> None:
    metadata.create_all(engine)


@worker_process_init.connect
def _after_fork(**_: Any) -> None:
    """A pool process gets connections of its own, not its parent's."""
    engine.dispose(close=False)


@celery.task(bind=True, max_retries=MAX_RETRIES)
def create_account(self: Any, request_id: str, account: dict[str, Any], created_at: str) -> None:
    contact = account["billToContact"]
    account_id = uuid.uuid5(uuid.NAMESPACE_URL, request_id).hex  # the same on a retry
    with engine.begin() as connection:
        connection.execute(
            insert(accounts)
            .values(
                id=account_id,
                request_id=request_id,
                name=account["name"],
                currency=account["currency"],
                bill_to_first_name=contact["firstName"],
                bill_to_last_name=contact["lastName"],
                bill_to_work_email=contact.get("workEmail"),
                created_at=datetime.now(UTC),
            )
            .on_conflict_do_nothing(index_elements=["request_id"])
        )
    payload = {
        "createTime": created_at,
        "completeTime": _zulu(datetime.now(UTC)),
        "request": {"id": request_id, "method": "POST", "url": "/v1/async/accounts"},
        "state": "succeeded",
        "data": {"id": account_id},
    }
    try:
        send_callout(self.request.id, payload)
    except httpx.HTTPError as error:
        raise self.retry(exc=error, countdown=min(2**self.request.retries, 60)) from error


def send_callout(notification_id: str, payload: dict[str, Any]) -> None:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "Zuora-Request-Id": str(uuid.uuid4()),
        "Zuora-Notification-Id": notification_id,
        **_signature_headers(notification_id, body),
    }
    http.post(CALLOUT_URL, content=body, headers=headers).raise_for_status()


def _signature_headers(message_id: str, body: bytes) -> dict[str, str]:
    if not SIGNING_SECRET:
        return {}
    timestamp = str(int(time.time()))
    key = base64.b64decode(SIGNING_SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": f"v1,{base64.b64encode(digest.digest()).decode()}",
    }


def _zulu(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
