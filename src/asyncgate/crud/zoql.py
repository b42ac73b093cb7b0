"""The ZOQL subset the Actions query speaks: a tokenizer and a recursive-descent parser.

Grammar (keywords and names are case-insensitive; ``and`` binds tighter than ``or``)::

    query      := SELECT name ("," name)* FROM name [WHERE condition] END
    condition  := conjunct (OR conjunct)*
    conjunct   := predicate (AND predicate)*
    predicate  := "(" condition ")"
                | name ("=" | "!=" | "<>" | "<" | ">" | "<=" | ">=") literal
                | name LIKE string
                | name IS [NOT] NULL
    literal    := string | number | TRUE | FALSE

Strings are single-quoted; inside them ``\\'``, ``\\"`` and ``\\\\`` are the only escapes.
A query is bounded where it is read: at most :data:`MAX_CONDITIONS` conditions, nested at most
:data:`MAX_NESTING` levels, numbers of at most :data:`MAX_NUMBER_LENGTH` characters and strings
of at most :data:`MAX_STRING_LENGTH`, so that no database is asked for more than it can take
(SQLite refuses expressions over 1000 levels deep and LIKE patterns over 50 000 bytes).
The parser only builds a syntax tree: which object and fields exist is decided when the tree
is compiled against the object registry. Every failure is a :class:`MalformedQuery`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from asyncgate.http.errors import InvalidValue, Resource

Literal = str | int | Decimal | bool


class MalformedQuery(InvalidValue):
    """A query string outside the supported ZOQL subset."""

    def __init__(self, message: str) -> None:
        super().__init__(message, resource=Resource.QUERY, crud_code="MALFORMED_QUERY")


class Operator(StrEnum):
    EQ = "="
    NE = "!="
    LT = "<"
    GT = ">"
    LE = "<="
    GE = ">="
    LIKE = "like"


class Junction(StrEnum):
    AND = "and"
    OR = "or"


@dataclass(frozen=True, slots=True)
class Comparison:
    field: str
    operator: Operator
    value: Literal


@dataclass(frozen=True, slots=True)
class NullCheck:
    field: str
    negated: bool


@dataclass(frozen=True, slots=True)
class BoolOp:
    junction: Junction
    operands: tuple[Condition, ...]


Condition = Comparison | NullCheck | BoolOp


@dataclass(frozen=True, slots=True)
class Query:
    fields: tuple[str, ...]
    object_name: str
    where: Condition | None


class Kind(StrEnum):
    WORD = "word"
    STRING = "string"
    NUMBER = "number"
    OPERATOR = "operator"
    PUNCTUATION = "punctuation"
    END = "end of query"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str
    position: int

    def describe(self) -> str:
        return "the end of the query" if self.kind is Kind.END else f"'{self.text}'"

    def is_keyword(self, keyword: str) -> bool:
        return self.kind is Kind.WORD and self.text.lower() == keyword

    def is_punctuation(self, mark: str) -> bool:
        return self.kind is Kind.PUNCTUATION and self.text == mark


KEYWORDS = frozenset(
    {"select", "from", "where", "and", "or", "not", "like", "is", "null", "true", "false"}
)
MAX_NESTING = 32
MAX_CONDITIONS = 200
MAX_NUMBER_LENGTH = 40
MAX_STRING_LENGTH = 1000
# Words that name ZOQL or SQL features outside the subset, for a clearer refusal.
UNSUPPORTED_CLAUSES = frozenset({"join", "order", "group", "limit", "having", "union", "in"})

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<string>'(?:[^'\\]|\\.)*')
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<operator><=|>=|!=|<>|=|<|>)
    | (?P<punctuation>[,()*])
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPES = {"'": "'", '"': '"', "\\": "\\"}
_OPERATORS = {"<>": Operator.NE, **{op.value: op for op in Operator if op is not Operator.LIKE}}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            if text[position] == "'":
                raise MalformedQuery(f"Unterminated string starting at position {position + 1}")
            raise MalformedQuery(
                f"Unexpected character '{text[position]}' at position {position + 1}"
            )
        kind = match.lastgroup
        assert kind is not None  # every alternative of the pattern is a named group
        if kind != "space":
            tokens.append(Token(Kind(kind), match.group(), position))
        position = match.end()
    tokens.append(Token(Kind.END, "", len(text)))
    return tokens


def _unquote(token: Token) -> str:
    body = token.text[1:-1]
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            escaped = body[index + 1]
            if escaped not in _ESCAPES:
                raise MalformedQuery(
                    f"Unsupported escape '\\{escaped}' in the string at position "
                    f"{token.position + 1}; only \\', \\\" and \\\\ are allowed"
                )
            out.append(_ESCAPES[escaped])
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0
        self.conditions = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.current
        if token.kind is not Kind.END:
            self.index += 1
        return token

    def fail(self, expected: str) -> MalformedQuery:
        token = self.current
        where = "" if token.kind is Kind.END else f" at position {token.position + 1}"
        return MalformedQuery(f"Expected {expected} but found {token.describe()}{where}")

    def accept_keyword(self, keyword: str) -> bool:
        if self.current.is_keyword(keyword):
            self.advance()
            return True
        return False

    def expect_keyword(self, keyword: str) -> None:
        if not self.accept_keyword(keyword):
            raise self.fail(keyword.upper())

    def accept_punctuation(self, text: str) -> bool:
        if self.current.is_punctuation(text):
            self.advance()
            return True
        return False

    def name(self, what: str) -> str:
        token = self.current
        if token.is_punctuation("*"):
            raise MalformedQuery("select * is not supported; name the fields to return")
        if token.kind is not Kind.WORD or token.text.lower() in KEYWORDS:
            raise self.fail(what)
        self.advance()
        if self.current.is_punctuation("("):
            raise MalformedQuery(f"Functions such as {token.text}() are not supported")
        return token.text

    def query(self) -> Query:
        self.expect_keyword("select")
        fields = [self.name("a field name")]
        while self.accept_punctuation(","):
            fields.append(self.name("a field name"))
        self.expect_keyword("from")
        if self.current.is_punctuation("("):
            raise MalformedQuery("Subqueries are not supported")
        object_name = self.name("an object name")
        if self.current.is_punctuation(","):
            raise MalformedQuery("Joins are not supported; query one object at a time")
        if self.accept_keyword("where"):
            where = self.condition()
            self.end("AND, OR or the end of the query")
        else:
            where = None
            self.end("WHERE or the end of the query")
        return Query(tuple(fields), object_name, where)

    def end(self, expected: str) -> None:
        if self.current.kind is not Kind.END:
            self.refuse_unsupported()
            raise self.fail(expected)

    def refuse_unsupported(self) -> None:
        token = self.current
        if token.kind is Kind.WORD and token.text.lower() in UNSUPPORTED_CLAUSES:
            raise MalformedQuery(f"'{token.text}' is not supported in queries")

    def condition(self) -> Condition:
        return self.junction(Junction.OR, self.conjunct)

    def conjunct(self) -> Condition:
        return self.junction(Junction.AND, self.predicate)

    def junction(self, junction: Junction, operand: Callable[[], Condition]) -> Condition:
        operands = [operand()]
        while self.accept_keyword(junction.value):
            operands.append(operand())
        return operands[0] if len(operands) == 1 else BoolOp(junction, tuple(operands))

    def predicate(self) -> Condition:
        if self.accept_punctuation("("):
            return self.parenthesized()
        if self.current.is_keyword("not"):
            raise MalformedQuery("NOT is supported only as IS NOT NULL")
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise MalformedQuery(f"A query may have at most {MAX_CONDITIONS} conditions")
        field = self.name("a field name or '('")
        if self.accept_keyword("is"):
            negated = self.accept_keyword("not")
            self.expect_keyword("null")
            return NullCheck(field, negated)
        if self.accept_keyword("like"):
            if self.current.kind is not Kind.STRING:
                raise self.fail("a quoted pattern after LIKE")
            return Comparison(field, Operator.LIKE, self.string())
        if self.current.kind is not Kind.OPERATOR:
            self.refuse_unsupported()
            raise self.fail("a comparison operator, LIKE or IS")
        operator = _OPERATORS[self.advance().text]
        return Comparison(field, operator, self.literal())

    def parenthesized(self) -> Condition:
        if self.current.is_keyword("select"):
            raise MalformedQuery("Subqueries are not supported")
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise MalformedQuery(f"Conditions may be nested at most {MAX_NESTING} levels deep")
        inner = self.condition()
        if not self.accept_punctuation(")"):
            raise self.fail("')'")
        self.depth -= 1
        return inner

    def string(self) -> str:
        token = self.advance()
        text = _unquote(token)
        if len(text) > MAX_STRING_LENGTH:
            raise MalformedQuery(
                f"The string at position {token.position + 1} is longer than "
                f"{MAX_STRING_LENGTH} characters"
            )
        return text

    def literal(self) -> Literal:
        token = self.current
        if token.kind is Kind.STRING:
            return self.string()
        if token.kind is Kind.NUMBER:
            if len(token.text) > MAX_NUMBER_LENGTH:
                raise MalformedQuery(f"The number at position {token.position + 1} is too long")
            self.advance()
            return Decimal(token.text) if "." in token.text else int(token.text)
        if token.is_keyword("true") or token.is_keyword("false"):
            self.advance()
            return token.text.lower() == "true"
        if token.is_keyword("null"):
            raise MalformedQuery("Compare with null using IS NULL or IS NOT NULL")
        if token.is_keyword("select") or token.is_punctuation("("):
            raise MalformedQuery("Subqueries are not supported")
        raise self.fail("a quoted string, a number, true or false")


def parse(text: str) -> Query:
    """Parse a ZOQL query string into its syntax tree, or raise :class:`MalformedQuery`."""
    if not text.strip():
        raise MalformedQuery("The query string is empty")
    if "\x00" in text or not _is_encodable(text):
        raise MalformedQuery("The query string must be UTF-8 text without NUL characters")
    return _Parser(text).query()


def _is_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
