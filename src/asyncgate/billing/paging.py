"""Zuora's paged lists: ``page`` (from 1) and ``pageSize`` (10 by default, at most 40), and a
``nextPage`` URL when another page follows."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request

from asyncgate.http.validation import MAX_INT32

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 40

Page = Annotated[int, Query(ge=1, le=MAX_INT32)]
PageSize = Annotated[int, Query(alias="pageSize", ge=1, le=MAX_PAGE_SIZE)]


def next_page(request: Request, page: int, page_size: int, more: bool) -> str | None:
    """The URL of the page after ``page``, when ``more`` rows follow."""
    if not more:
        return None
    url = request.url.include_query_params(page=page + 1, pageSize=page_size)
    return f"{url.path}?{url.query}"
