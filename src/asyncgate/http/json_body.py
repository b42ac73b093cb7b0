"""The one check of a JSON request body, for synchronous routes and async accepts alike.

``ZuoraConventionsMiddleware`` checks every API body with :func:`check_json` before any
handler runs, so a body refused here is refused the same way whichever door it comes through,
and nothing is stored: an async accept never takes a body its synchronous route would later
find malformed (and retry, or fail, long after the 202). The check is orjson's strict parser
(RFC 8259, UTF-8 only), stricter than the standard library's that FastAPI then parses with, so
whatever passes here parses there alike: refused as malformed JSON (category 90) are bytes that
are not UTF-8, text that is not JSON, ``NaN`` and ``Infinity``, lone surrogates (``"\\ud800"``,
which no text column can store), numbers past a double's range (integers of more than about
300 digits), and nesting deeper than :data:`MAX_DEPTH`. A charset other than UTF-8 in
``Content-Type`` is an unsupported media type (415), and text holding the NUL character an
invalid value (category 20).
"""

from __future__ import annotations

from email.message import Message
from typing import Any

import orjson

from asyncgate.http.errors import InvalidValue, MalformedJson, Resource, UnsupportedMediaType

# Zuora's deepest bodies (orders, with their actions, charges and tiers) nest about a dozen
# levels; this leaves room and keeps every later step (validation, storage, the answer's
# encoding) far from its own recursion limits.
MAX_DEPTH = 64


def check_charset(content_type: str) -> None:
    """Refuses a JSON ``Content-Type`` that names a charset other than UTF-8."""
    if "charset" not in content_type.lower():
        return
    message = Message()
    message["content-type"] = content_type
    charset = message.get_param("charset")
    if isinstance(charset, str) and charset.strip().lower() not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(
            f"JSON bodies are read as UTF-8, not {charset!r}", resource=Resource.REQUEST
        )


def check_json(body: bytes) -> None:
    """Raises :class:`MalformedJson` unless ``body`` is a JSON document routes can read."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise _malformed(str(error)) from None
    if _deeper_than(value, MAX_DEPTH):
        raise _malformed(f"it nests deeper than {MAX_DEPTH} levels")
    if b"\\u0000" in body and _holds_nul(value):  # the escape is how JSON writes it
        raise nul_refused("the request body")


def nul_refused(where: str) -> InvalidValue:
    """The NUL character is refused wherever a client may send text: PostgreSQL cannot store
    it in a text column, and no Zuora field means it."""
    return InvalidValue(
        f"Text in {where} may not contain the NUL character", resource=Resource.REQUEST
    )


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests arrays and objects more than ``limit`` levels deep; walks only
    containers, so a flat body costs next to nothing."""
    level: list[Any] = [value]
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        deeper: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                deeper.extend(child for child in item.values() if isinstance(child, dict | list))
            elif isinstance(item, list):
                deeper.extend(child for child in item if isinstance(child, dict | list))
        level = deeper
    return False


def _malformed(reason: str) -> MalformedJson:
    return MalformedJson(f"Malformed JSON in the request body: {reason}", resource=Resource.REQUEST)
