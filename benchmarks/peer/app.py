"""The peer's API: ``POST /v1/async/accounts`` queues a Celery task and answers 202.

The body is validated (the fields of an account creation that the benchmark sends), the
bearer token is only checked to be there, and the task is published to Redis before the
answer goes out: ``{"requestId": ...}`` means the broker has the task.

    uvicorn app:app --loop uvloop --http httptools --no-access-log
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from tasks import create_account


class Contact(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    first_name: str = Field(alias="firstName", max_length=100)
    last_name: str = Field(alias="lastName", max_length=100)
    work_email: str | None = Field(default=None, alias="workEmail", max_length=80)


class AccountCreate(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    name: str = Field(max_length=255)
    currency: str = Field(min_length=3, max_length=3)
    bill_to_contact: Contact = Field(alias="billToContact")


class Accepted(BaseModel):
    request_id: str = Field(serialization_alias="requestId")


app = FastAPI(title="Celery + Redis peer")


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v1/async/accounts", status_code=202, response_model_by_alias=True)
def create_account_async(
    account: AccountCreate, authorization: Annotated[str, Header()]
) -> Accepted:
    if not authorization.startswith("Bearer "):
        raise HTTPException(status_code=401, detail="a bearer token is needed")
    request_id = str(uuid.uuid4())
    created_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    create_account.delay(request_id, account.model_dump(by_alias=True), created_at)
    return Accepted(request_id=request_id)
