"""ZOQL queries run against the registry: compiled to SQLAlchemy expressions, always scoped to
the caller's tenant, and paged by ``Id``.

Literals become bound parameters of the compiled statement, never SQL text. Text compares
exactly with ``=`` and the ordering operators; ``like`` is case-insensitive on every backend,
with ``%`` as its only wildcard. A page ends with a query locator when more records remain: it
carries the query and the last ``Id`` returned, and is re-run under the tenant of whoever
presents it, so it reveals nothing a caller could not query directly.
"""

from __future__ import annotations

import base64
import binascii
import operator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Numeric, and_, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.crud import registry, zoql
from asyncgate.crud.registry import ObjectField, ObjectType, ValueKind
from asyncgate.crud.schemas import MAX_QUERY_BATCH_SIZE, QueryResult
from asyncgate.http.errors import InvalidValue, Resource

LIKE_ESCAPE = "\\"


@dataclass(frozen=True, slots=True)
class Selection:
    """A parsed query bound to its object type: the fields to return and the filter."""

    object_type: ObjectType
    fields: tuple[ObjectField, ...]
    condition: ColumnElement[bool] | None


def compile_query(text: str) -> Selection:
    query = zoql.parse(text)
    object_type = registry.by_name(query.object_name)
    fields = tuple(dict.fromkeys(object_type.field(name) for name in query.fields))
    condition = None if query.where is None else _condition(object_type, query.where)
    return Selection(object_type, fields, condition)


async def run(
    session: AsyncSession,
    tenant_id: str,
    query_string: str,
    batch_size: int | None = None,
    after_id: str | None = None,
) -> QueryResult:
    """One page of the query's records, ordered by ``Id``, starting after ``after_id``."""
    selection = compile_query(query_string)
    object_type = selection.object_type
    limit = min(batch_size or MAX_QUERY_BATCH_SIZE, MAX_QUERY_BATCH_SIZE)
    id_column = object_type.id_column
    columns = [
        object_type.column(field) for field in selection.fields if field.attribute != id_column.key
    ]
    statement = (
        select(id_column, *columns)
        .where(object_type.tenant_column == tenant_id)
        .order_by(id_column)
        .limit(limit + 1)
    )
    if selection.condition is not None:
        statement = statement.where(selection.condition)
    if after_id is not None:
        statement = statement.where(id_column > after_id)
    rows = (await session.execute(statement)).all()
    page = rows[:limit]
    records = [object_type.record(row, selection.fields) for row in page]
    if len(rows) <= limit:
        return QueryResult(done=True, size=len(records), records=records)
    locator = encode_locator(query_string, page[-1].id)
    return QueryResult(done=False, size=len(records), records=records, query_locator=locator)


async def run_more(
    session: AsyncSession, tenant_id: str, locator: str, batch_size: int | None = None
) -> QueryResult:
    query_string, after_id = decode_locator(locator)
    return await run(session, tenant_id, query_string, batch_size, after_id)


def encode_locator(query_string: str, after_id: str) -> str:
    payload = orjson.dumps({"q": query_string, "after": after_id})
    return base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=")


def decode_locator(locator: str) -> tuple[str, str]:
    try:
        padded = locator + "=" * (-len(locator) % 4)
        payload = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        query_string, after_id = payload["q"], payload["after"]
    except (ValueError, TypeError, KeyError, UnicodeEncodeError, binascii.Error):
        query_string = after_id = None
    if not isinstance(query_string, str) or not isinstance(after_id, str):
        raise InvalidValue(
            "The query locator is not one this service issued",
            resource=Resource.QUERY,
            crud_code="INVALID_QUERY_LOCATOR",
        )
    return query_string, after_id


def _condition(object_type: ObjectType, node: zoql.Condition) -> ColumnElement[bool]:
    if isinstance(node, zoql.BoolOp):
        join = and_ if node.junction is zoql.Junction.AND else or_
        return join(*(_condition(object_type, operand) for operand in node.operands))
    field = object_type.field(node.field)
    column = object_type.column(field)
    if isinstance(node, zoql.NullCheck):
        return column.is_not(None) if node.negated else column.is_(None)
    kind = object_type.kind(field)
    if node.operator is zoql.Operator.LIKE:
        if kind is not ValueKind.TEXT:
            raise zoql.MalformedQuery(
                f"LIKE applies to text fields only, and {field.name} is not one"
            )
        assert isinstance(node.value, str)  # the parser takes a quoted pattern only
        return column.ilike(_like_pattern(node.value), escape=LIKE_ESCAPE)
    if kind is ValueKind.BOOLEAN and node.operator not in (zoql.Operator.EQ, zoql.Operator.NE):
        raise zoql.MalformedQuery(f"{field.name} is true or false: compare it with = or !=")
    return _COMPARISONS[node.operator](column, _coerce(field, kind, node.value))


_COMPARISONS = {
    zoql.Operator.EQ: operator.eq,
    zoql.Operator.NE: operator.ne,
    zoql.Operator.LT: operator.lt,
    zoql.Operator.GT: operator.gt,
    zoql.Operator.LE: operator.le,
    zoql.Operator.GE: operator.ge,
}


def _like_pattern(pattern: str) -> str:
    """Keeps ``%`` as the only wildcard: ``_`` and the escape character match themselves."""
    return pattern.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("_", LIKE_ESCAPE + "_")


def _coerce(field: ObjectField, kind: ValueKind, value: zoql.Literal) -> Any:
    """The literal as a value of the field's type, or a clear refusal."""
    is_number = isinstance(value, int | Decimal) and not isinstance(value, bool)
    match kind:
        case ValueKind.TEXT if isinstance(value, str):
            return value
        case ValueKind.INTEGER | ValueKind.DECIMAL if is_number:
            # Bound as an unconstrained number: the column's own precision would round or
            # overflow the literal before the comparison.
            return literal(Decimal(value), Numeric())
        case ValueKind.BOOLEAN if isinstance(value, bool):
            return value
        case ValueKind.DATETIME if isinstance(value, str):
            return _datetime(field, value)
        case ValueKind.DATE if isinstance(value, str):
            return _date(field, value)
        case ValueKind.OTHER:
            raise zoql.MalformedQuery(f"{field.name} cannot be used in a filter")
    raise zoql.MalformedQuery(f"{field.name} cannot be compared with {value!r}: {_EXPECTED[kind]}")


_EXPECTED = {
    ValueKind.TEXT: "give a quoted string",
    ValueKind.INTEGER: "give a number",
    ValueKind.DECIMAL: "give a number",
    ValueKind.BOOLEAN: "give true or false",
    ValueKind.DATETIME: "give a quoted date-time such as '2024-01-31T12:00:00Z'",
    ValueKind.DATE: "give a quoted date such as '2024-01-31'",
}


def _datetime(field: ObjectField, text: str) -> datetime:
    """An ISO-8601 date-time (or date) in UTC; one without an offset is taken as UTC."""
    try:
        value = datetime.fromisoformat(text)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise zoql.MalformedQuery(
            f"{field.name} cannot be compared with {text!r}: {_EXPECTED[ValueKind.DATETIME]}"
        ) from None


def _date(field: ObjectField, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise zoql.MalformedQuery(
            f"{field.name} cannot be compared with {text!r}: {_EXPECTED[ValueKind.DATE]}"
        ) from None
