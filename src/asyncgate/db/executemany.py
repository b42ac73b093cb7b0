"""Executemany of the hot paths' Core statements, with the per-row work done once per shape.

SQLAlchemy builds every row of an executemany anew: a dictionary of all the statement's
parameters, then each value through its type's bind processor, looked up by name. For the
worker's writes (a few rows per request in every table it touches) that costs more than
SQLite's own work on the row. :func:`execute_many` compiles a statement once per set of keys
and dialect, and turns each row into the driver's positional tuple directly, with the same
bind processors and the same Python-side column defaults: the rows stored are exactly those
``connection.execute(statement, rows)`` would store.

For plain ``INSERT`` and ``UPDATE`` statements whose parameters are all given by name or by a
column default (no expanding ``IN`` lists, no ``RETURNING``).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnDefault, Dialect, Insert, Update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler

_Processor = Callable[[Any], Any]
_Value = Callable[[Mapping[str, Any]], Any]  # a row's value of one parameter


@dataclass(frozen=True, slots=True)
class _Plan:
    """A compiled statement, and per positional parameter what makes its value from a row:
    the row's value under its key (through its bind processor), or a column default, or a
    value of the statement's own, already processed."""

    sql: str
    values: tuple[_Value, ...]

    def parameters(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple([value(row) for value in self.values])


# By statement (kept alive here, so its identity stays its own), dialect and keys. Statements
# are built once (module constants, or cached as ``LeasedTable.settle`` does): their number,
# hence this cache's size, is bounded.
_plans: dict[tuple[Insert | Update, str, tuple[str, ...]], _Plan] = {}


async def execute_many(
    target: AsyncSession | AsyncConnection,
    statement: Insert | Update,
    rows: Sequence[Mapping[str, Any]],
) -> int:
    """Run ``statement`` once per row of ``rows`` in ``target``'s transaction, one
    executemany per set of keys the rows give (a row leaves out what its column defaults
    fill); returns the rows matched, as the driver counts them (-1 where it cannot count
    those of an executemany, as asyncpg does; a single row is always counted)."""
    if not rows:
        return 0
    connection = await target.connection() if isinstance(target, AsyncSession) else target
    shapes: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(tuple(row), []).append(row)
    counts = []
    for keys, same in shapes.items():
        plan = _plan(statement, keys, connection.dialect)
        parameters = [plan.parameters(row) for row in same]
        result = await connection.exec_driver_sql(
            plan.sql, parameters[0] if len(parameters) == 1 else parameters
        )
        counts.append(result.rowcount)
    return -1 if min(counts) < 0 else sum(counts)


def _plan(statement: Insert | Update, keys: tuple[str, ...], dialect: Dialect) -> _Plan:
    cache_key = (statement, dialect.name, keys)
    plan = _plans.get(cache_key)
    if plan is None:
        plan = _plans[cache_key] = _compile(statement, keys, dialect)
    return plan


def _compile(statement: Insert | Update, keys: tuple[str, ...], dialect: Dialect) -> _Plan:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    assert isinstance(compiled, SQLCompiler) and compiled.positiontup is not None
    assert not any(bind.expanding for bind in compiled.binds.values()), "no IN lists"
    # The Python-side defaults of the columns the rows leave out.
    defaults = {column.key: column.default for column in compiled.insert_prefetch} | {
        column.key: column.onupdate for column in compiled.update_prefetch
    }
    made: dict[str, _Value] = {}
    for name in compiled.positiontup:
        assert name not in made, f"{name} is bound twice"
        process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        default = defaults.get(name)
        assert default is None or isinstance(default, ColumnDefault), default
        if default is not None and default.is_callable:
            # SQLAlchemy's wrapper, which takes the execution context: the defaults of the
            # tables written here need none.
            made[name] = _called(functools.partial(default.arg, None), process)
        elif name in keys:
            made[name] = _given(name, process)
        else:  # a scalar default, or a value of the statement's own (``values(x=None)``)
            assert default is None or default.is_scalar, default
            value = compiled.binds[name].effective_value if default is None else default.arg
            made[name] = _constant(value if process is None else process(value))
    return _Plan(compiled.string, tuple(made.values()))


def _given(key: str, process: _Processor | None) -> _Value:
    if process is None:
        return operator.itemgetter(key)
    return lambda row: process(row[key])


def _called(make: Callable[[], Any], process: _Processor | None) -> _Value:
    if process is None:
        return lambda row: make()
    return lambda row: process(make())


def _constant(value: Any) -> _Value:
    return lambda row: value
