"""The ZOQL parser on its own: what it accepts, how it groups, and how it refuses."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncgate.crud.zoql import (
    KEYWORDS,
    MAX_CONDITIONS,
    MAX_STRING_LENGTH,
    BoolOp,
    Comparison,
    Condition,
    Junction,
    MalformedQuery,
    NullCheck,
    Operator,
    Query,
    parse,
)


def where(text: str) -> Condition:
    query = parse(f"select Id from Account where {text}")
    assert query.where is not None
    return query.where


class TestSupportedQueries:
    def test_fields_object_and_conditions_are_read(self):
        query = parse("select Id, Name from Account where Name = 'x' and Currency = 'USD'")
        assert query == Query(
            ("Id", "Name"),
            "Account",
            BoolOp(
                Junction.AND,
                (
                    Comparison("Name", Operator.EQ, "x"),
                    Comparison("Currency", Operator.EQ, "USD"),
                ),
            ),
        )

    def test_a_query_without_where_has_no_condition(self):
        assert parse("select Id from Contact") == Query(("Id",), "Contact", None)

    def test_keywords_are_case_insensitive_and_names_keep_their_spelling(self):
        query = parse("SeLeCt accountnumber FROM account WhErE name IS NOT NULL")
        assert query == Query(("accountnumber",), "account", NullCheck("name", negated=True))

    @pytest.mark.parametrize(
        ("text", "operator"),
        [
            ("=", Operator.EQ),
            ("!=", Operator.NE),
            ("<>", Operator.NE),
            ("<", Operator.LT),
            (">", Operator.GT),
            ("<=", Operator.LE),
            (">=", Operator.GE),
        ],
    )
    def test_every_comparison_operator(self, text, operator):
        assert where(f"BillCycleDay {text} 3") == Comparison("BillCycleDay", operator, 3)

    def test_literals_are_typed(self):
        assert where("A = 12").value == 12
        assert where("A = -4").value == -4
        assert where("A = 2.50").value == Decimal("2.50")
        assert where("A = TRUE").value is True
        assert where("A = false").value is False
        assert where("A = '12'").value == "12"

    def test_like_takes_a_pattern(self):
        assert where("Name like 'Acme%'") == Comparison("Name", Operator.LIKE, "Acme%")

    def test_is_null(self):
        assert where("Notes is null") == NullCheck("Notes", negated=False)

    def test_whitespace_and_newlines_are_free(self):
        assert parse("select\n  Id ,Name\nfrom\tAccount") == Query(("Id", "Name"), "Account", None)


class TestPrecedence:
    def test_and_binds_tighter_than_or(self):
        a, b, c = (Comparison(n, Operator.EQ, 1) for n in "abc")
        assert where("a = 1 or b = 1 and c = 1") == BoolOp(
            Junction.OR, (a, BoolOp(Junction.AND, (b, c)))
        )
        assert where("a = 1 and b = 1 or c = 1") == BoolOp(
            Junction.OR, (BoolOp(Junction.AND, (a, b)), c)
        )

    def test_parentheses_group(self):
        a, b, c = (Comparison(n, Operator.EQ, 1) for n in "abc")
        assert where("(a = 1 or b = 1) and c = 1") == BoolOp(
            Junction.AND, (BoolOp(Junction.OR, (a, b)), c)
        )

    def test_chains_of_one_junction_are_one_node(self):
        assert where("a = 1 and b = 2 and c = 3") == BoolOp(
            Junction.AND,
            tuple(Comparison(n, Operator.EQ, v) for n, v in zip("abc", (1, 2, 3), strict=True)),
        )


class TestStringLiterals:
    def test_escaped_quote_and_backslash(self):
        assert where(r"Name = 'O\'Brien \\ Co'").value == "O'Brien \\ Co"

    def test_escaped_double_quote(self):
        assert where(r"Name = 'say \"hi\"'").value == 'say "hi"'

    def test_keywords_inside_strings_are_text(self):
        assert where("Name = 'select * from x where'").value == "select * from x where"

    def test_unknown_escape_is_refused(self):
        with pytest.raises(MalformedQuery, match="escape"):
            where(r"Name = 'a\nb'")

    def test_unterminated_string_is_refused(self):
        with pytest.raises(MalformedQuery, match="Unterminated string"):
            where("Name = 'abc")


class TestRefusals:
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("", "empty"),
            ("   ", "empty"),
            ("select * from Account", "select \\* is not supported"),
            ("select count(Id) from Account", "Functions"),
            ("select Id from Account, Contact", "Joins"),
            ("select Id from Account a join Contact c", "WHERE or the end"),
            ("select Id from Account join Contact", "'join' is not supported"),
            ("select Id from (select Id from Account)", "Subqueries"),
            ("select Id from Account where Id = (select Id from Account)", "Subqueries"),
            ("select Id from Account where (select 1)", "Subqueries"),
            ("select Id from Account where Id in ('a', 'b')", "'in' is not supported"),
            ("select Id from Account order by Name", "'order' is not supported"),
            ("select Id from Account limit 5", "'limit' is not supported"),
            ("select Id from Account where not Name = 'x'", "NOT"),
            ("select Id from Account where Name = null", "IS NULL"),
            ("select Id from Account where Name is 'x'", "NULL"),
            ("select Id from Account where Name like 3", "pattern"),
            ("select Id from Account where Name", "comparison operator"),
            ("select Id from Account where Name = ", "a quoted string, a number"),
            ("select Id from Account where (Name = 'x'", "'\\)'"),
            ("select Id from Account where Name = 'x' Currency = 'y'", "AND, OR"),
            ("select Id, from Account", "a field name"),
            ("select Id Account", "FROM"),
            ("select from Account", "a field name"),
            ("delete from Account", "SELECT"),
            ("select Id from Account where Name = 'x';", "Unexpected character ';'"),
            ("select Id from Account where Name == 'x'", "a quoted string"),
            ("select Id from Account where A = 1" + "0" * 50, "too long"),
            (
                "select Id from Account where " + " or ".join(["A = 1"] * (MAX_CONDITIONS + 1)),
                f"at most {MAX_CONDITIONS} conditions",
            ),
            (
                f"select Id from Account where A like '{'%' * (MAX_STRING_LENGTH + 1)}'",
                f"longer than {MAX_STRING_LENGTH}",
            ),
            (f"select Id from Account where A = '{'x' * (MAX_STRING_LENGTH + 1)}'", "position 34"),
        ],
    )
    def test_unsupported_or_broken_queries_are_malformed(self, text, message):
        with pytest.raises(MalformedQuery, match=message):
            parse(text)

    def test_the_error_is_a_crud_malformed_query_400(self):
        with pytest.raises(MalformedQuery) as caught:
            parse("select")
        assert caught.value.status == 400
        assert caught.value.reasons[0].crud_code == "MALFORMED_QUERY"

    def test_deep_nesting_is_refused_not_a_crash(self):
        with pytest.raises(MalformedQuery, match="nested"):
            where("(" * 5000 + "a = 1" + ")" * 5000)

    def test_errors_point_at_the_position(self):
        with pytest.raises(MalformedQuery, match="position 24"):
            parse("select Id from Account Name = 'x'")


# Round trip: render random syntax trees as text, parse them back, get the same tree.

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True).filter(
    lambda name: name.lower() not in KEYWORDS
)
strings = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20
)
numbers = st.integers(-(10**12), 10**12) | st.decimals(
    allow_nan=False, allow_infinity=False, places=3, min_value=-(10**9), max_value=10**9
)
literals = strings | numbers | st.booleans()
comparisons = st.builds(
    Comparison, names, st.sampled_from([op for op in Operator if op is not Operator.LIKE]), literals
) | st.builds(Comparison, names, st.just(Operator.LIKE), strings)
leaves = comparisons | st.builds(NullCheck, names, st.booleans())
conditions = st.recursive(
    leaves,
    lambda children: st.builds(
        BoolOp, st.sampled_from(Junction), st.lists(children, min_size=2, max_size=4).map(tuple)
    ),
    max_leaves=12,
)
queries = st.builds(
    Query, st.lists(names, min_size=1, max_size=5).map(tuple), names, st.none() | conditions
)


def render_literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def render(condition: Condition, nested: bool = False) -> str:
    if isinstance(condition, NullCheck):
        return f"{condition.field} is {'not ' if condition.negated else ''}null"
    if isinstance(condition, Comparison):
        return f"{condition.field} {condition.operator.value} {render_literal(condition.value)}"
    text = f" {condition.junction.value} ".join(render(c, nested=True) for c in condition.operands)
    return f"({text})" if nested else text


def render_query(query: Query) -> str:
    text = f"select {', '.join(query.fields)} from {query.object_name}"
    return text if query.where is None else f"{text} where {render(query.where)}"


# No per-example deadline: parsing is fast, but a loaded machine makes timing noise.
NO_DEADLINE = settings(deadline=None)


def assert_parsed_or_refused(text: str) -> None:
    """Any text is either a query or a MalformedQuery that says why; never another error."""
    try:
        result = parse(text)
    except MalformedQuery as refusal:
        assert str(refusal)
    else:
        assert isinstance(result, Query)


class TestGeneratedQueries:
    @NO_DEADLINE
    @given(queries)
    def test_rendered_queries_parse_back_to_the_same_tree(self, query):
        assert parse(render_query(query)) == query

    @NO_DEADLINE
    @given(st.text(max_size=200))
    def test_junk_is_refused_only_as_a_malformed_query(self, text):
        assert_parsed_or_refused(text)

    @NO_DEADLINE
    @given(queries, st.integers(0, 400), st.text(max_size=5))
    def test_damaged_queries_are_refused_only_as_a_malformed_query(self, query, cut, noise):
        text = render_query(query)
        assert_parsed_or_refused(text[:cut] + noise + text[cut:])
