from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AcceptedRequest(BaseModel):
    request_id: str = Field(serialization_alias="requestId")


class SynchronousAnswer(BaseModel):
    status: int
    body: Any


class AsyncRequestStatus(BaseModel):
    """``GET /v1/async-requests/{id}``: where a request stands and, once finished, its answer."""

    id: str
    state: str
    method: str
    url: str
    track_id: str | None = Field(serialization_alias="trackId")
    attempts: int
    create_time: datetime = Field(serialization_alias="createTime")
    start_time: datetime | None = Field(serialization_alias="startTime")
    complete_time: datetime | None = Field(serialization_alias="completeTime")
    next_attempt_time: datetime | None = Field(serialization_alias="nextAttemptTime")
    last_error: str | None = Field(serialization_alias="lastError")
    resource_id: str | None = Field(serialization_alias="resourceId")
    response: SynchronousAnswer | None
    success: bool = True
