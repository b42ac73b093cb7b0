"""``/v1/action/query`` and ``queryMore``: ZOQL over the caller's own objects."""

from __future__ import annotations

import pytest

from asyncgate.crud.registry import OBJECT_TYPES
from asyncgate.crud.zoql import MAX_CONDITIONS, MAX_STRING_LENGTH
from tests.crud.support import make_account, make_contact, query
from tests.http.assertions import assert_action_fault

# One literal of every shape, including ones no field accepts.
LITERALS = (
    "'text'",
    "'2024-01-31'",
    "'2024-01-31T12:00:00+02:00'",
    "'9999-12-31T23:59:59-05:00'",
    "7",
    "-2.5",
    "99999999999999999999",
    "true",
)


async def ids(client, tenant, text: str) -> set[str]:
    response = await query(client, tenant, text)
    assert response.status_code == 200, response.text
    return {record["Id"] for record in response.json()["records"]}


@pytest.fixture
async def accounts(client, tenant) -> dict[str, str]:
    """Three accounts with distinct fields, by name."""
    return {
        "Acme": await make_account(client, tenant, Name="Acme", BillCycleDay=1, Notes="vip"),
        "Globex": await make_account(
            client, tenant, Name="Globex", Currency="EUR", BillCycleDay=15
        ),
        "Initech": await make_account(
            client, tenant, Name="Initech_Ltd", BillCycleDay=28, AutoPay=True
        ),
    }


class TestAnswer:
    async def test_records_carry_only_the_selected_fields_in_pascal_case(
        self, client, tenant, accounts
    ):
        response = await query(
            client, tenant, "select id, name, billcycleday from account where Name = 'Globex'"
        )
        assert response.status_code == 200
        assert response.json() == {
            "done": True,
            "size": 1,
            "records": [{"Id": accounts["Globex"], "Name": "Globex", "BillCycleDay": 15}],
        }

    async def test_null_fields_are_left_out_of_records(self, client, tenant, accounts):
        response = await query(client, tenant, "select Name, Notes from Account")
        records = sorted(response.json()["records"], key=lambda record: record["Name"])
        assert records == [
            {"Name": "Acme", "Notes": "vip"},
            {"Name": "Globex"},
            {"Name": "Initech_Ltd"},
        ]

    async def test_no_match_is_an_empty_done_answer(self, client, tenant, accounts):
        response = await query(client, tenant, "select Id from Account where Name = 'Nobody'")
        assert response.json() == {"done": True, "size": 0, "records": []}

    async def test_contacts_can_be_queried_by_account(self, client, tenant, accounts):
        contact = await make_contact(client, tenant, accounts["Acme"], WorkEmail="a@acme.io")
        await make_contact(client, tenant, accounts["Globex"])
        response = await query(
            client,
            tenant,
            f"select Id, AccountId, WorkEmail from Contact where AccountId = '{accounts['Acme']}'",
        )
        assert response.json()["records"] == [
            {"Id": contact, "AccountId": accounts["Acme"], "WorkEmail": "a@acme.io"}
        ]


class TestFilters:
    @pytest.mark.parametrize(
        ("where", "expected"),
        [
            ("Name = 'Acme'", {"Acme"}),
            ("Currency = 'USDX'", set()),
            ("Name != 'Acme'", {"Globex", "Initech"}),
            ("BillCycleDay > 1", {"Globex", "Initech"}),
            ("BillCycleDay >= 15", {"Globex", "Initech"}),
            ("BillCycleDay < 15", {"Acme"}),
            ("BillCycleDay <= 15", {"Acme", "Globex"}),
            ("Currency = 'USD' and BillCycleDay > 1", {"Initech"}),
            ("Currency = 'EUR' or AutoPay = true", {"Globex", "Initech"}),
            ("Name = 'Acme' or Name = 'Globex' and Currency = 'USD'", {"Acme"}),
            ("(Name = 'Acme' or Name = 'Globex') and Currency = 'USD'", {"Acme"}),
            ("Notes is null", {"Globex", "Initech"}),
            ("Notes is not null", {"Acme"}),
            ("Name like 'glob%'", {"Globex"}),
            ("Name like '%e%'", {"Acme", "Globex", "Initech"}),
            ("Name like 'Initech_Ltd'", {"Initech"}),
            ("Name like 'Initech_%'", {"Initech"}),
            ("Name like 'Acm_'", set()),
            ("Balance = 0", {"Acme", "Globex", "Initech"}),
            ("Balance > 0.5", set()),
            ("Balance = 0.00001", set()),
            ("Balance < 99999999999999999999999.5", {"Acme", "Globex", "Initech"}),
            ("BillCycleDay > 14.5", {"Globex", "Initech"}),
            ("BillCycleDay < 99999999999", {"Acme", "Globex", "Initech"}),
            ("CreatedDate > '2000-01-01T00:00:00Z'", {"Acme", "Globex", "Initech"}),
            ("CreatedDate < '2000-01-01'", set()),
        ],
    )
    async def test_conditions_select_the_matching_accounts(
        self, client, tenant, accounts, where, expected
    ):
        found = await ids(client, tenant, f"select Id from Account where {where}")
        assert found == {accounts[name] for name in expected}

    async def test_keywords_are_case_insensitive(self, client, tenant, accounts):
        found = await ids(
            client, tenant, "SELECT Id FROM ACCOUNT WHERE name = 'Acme' AND notes IS NOT NULL"
        )
        assert found == {accounts["Acme"]}

    async def test_quotes_in_values_are_data_not_syntax(self, client, tenant):
        tricky = await make_account(client, tenant, Name="O'Brien' or '1'='1")
        await make_account(client, tenant, Name="Other")
        found = await ids(
            client, tenant, r"select Id from Account where Name = 'O\'Brien\' or \'1\'=\'1'"
        )
        assert found == {tricky}


class TestPaging:
    async def test_a_batch_size_pages_with_a_query_locator(self, client, tenant, accounts):
        seen: list[str] = []
        response = await query(client, tenant, "select Id, Name from Account", batchSize=2)
        body = response.json()
        assert (body["done"], body["size"], len(body["records"])) == (False, 2, 2)
        seen += [record["Id"] for record in body["records"]]
        more = await client.post(
            "/v1/action/queryMore",
            json={"queryLocator": body["queryLocator"], "conf": {"batchSize": 2}},
            headers=tenant.headers,
        )
        assert more.status_code == 200
        last = more.json()
        assert (last["done"], last["size"]) == (True, 1)
        assert "queryLocator" not in last
        seen += [record["Id"] for record in last["records"]]
        assert sorted(seen) == sorted(accounts.values())

    async def test_without_a_batch_size_everything_fits_one_answer(self, client, tenant, accounts):
        body = (await query(client, tenant, "select Id from Account")).json()
        assert (body["done"], body["size"]) == (True, 3)
        assert "queryLocator" not in body

    async def test_a_foreign_or_broken_locator_is_refused(self, client, tenant):
        response = await client.post(
            "/v1/action/queryMore", json={"queryLocator": "not-a-locator"}, headers=tenant.headers
        )
        code, _ = assert_action_fault(response, 400)
        assert code == "INVALID_QUERY_LOCATOR"

    async def test_a_batch_size_below_one_is_refused(self, client, tenant):
        response = await query(client, tenant, "select Id from Account", batchSize=0)
        assert_action_fault(response, 400)


class TestEveryFieldAndLiteral:
    async def test_every_comparison_is_answered_or_refused_never_a_server_error(
        self, client, tenant, accounts
    ):
        for object_type in OBJECT_TYPES:
            for field in object_type.fields:
                for condition in [f"{field.name} is null", f"{field.name} like '%a%'"] + [
                    f"{field.name} {operator} {literal}"
                    for operator in ("=", "<")
                    for literal in LITERALS
                ]:
                    text = f"select {field.name} from {object_type.name} where {condition}"
                    response = await query(client, tenant, text)
                    assert response.status_code in (200, 400), (text, response.text)


class TestBounds:
    """The largest queries the parser takes run on every backend; larger ones are refused
    before any database sees them (SQLite cannot run an expression 1000 levels deep, nor a
    LIKE pattern of 50 000 bytes)."""

    async def test_the_most_conditions_a_query_may_have_are_answered(self, client, tenant):
        conditions = " or ".join(f"BillCycleDay = {day % 31}" for day in range(MAX_CONDITIONS))
        response = await query(client, tenant, f"select Id from Account where {conditions}")

        assert response.status_code == 200, response.text

    async def test_the_longest_like_pattern_is_answered(self, client, tenant):
        pattern = "\u00e9_%" * (MAX_STRING_LENGTH // 3)
        response = await query(
            client, tenant, f"select Id from Account where Name like '{pattern}'"
        )

        assert response.status_code == 200, response.text

    @pytest.mark.parametrize(
        "condition",
        [
            " or ".join(["Name = 'a'"] * (MAX_CONDITIONS + 1)),
            "Name like '" + "%" * (MAX_STRING_LENGTH + 1) + "'",
        ],
        ids=["conditions", "pattern"],
    )
    async def test_a_larger_query_is_malformed(self, client, tenant, condition):
        response = await query(client, tenant, f"select Id from Account where {condition}")

        code, _ = assert_action_fault(response, 400)
        assert code == "MALFORMED_QUERY"


class TestRefusals:
    @pytest.mark.parametrize(
        ("text", "code", "fragment"),
        [
            ("select * from Account", "MALFORMED_QUERY", "select *"),
            ("select Id from Account a, Contact c", "MALFORMED_QUERY", "WHERE"),
            ("select count(Id) from Account", "MALFORMED_QUERY", "Functions"),
            ("select Id from Invoice", "INVALID_TYPE", "Invoice"),
            ("select Id, Colour from Account", "INVALID_FIELD", "Colour"),
            ("select Id from Account where Colour = 'red'", "INVALID_FIELD", "Colour"),
            (
                "select Id from Account where BillCycleDay = 'one'",
                "MALFORMED_QUERY",
                "BillCycleDay",
            ),
            ("select Id from Account where Name = 3", "MALFORMED_QUERY", "quoted string"),
            ("select Id from Account where AutoPay = 1", "MALFORMED_QUERY", "true or false"),
            ("select Id from Account where AutoPay > false", "MALFORMED_QUERY", "= or !="),
            ("select Id from Account where BillCycleDay like '1%'", "MALFORMED_QUERY", "LIKE"),
            (
                "select Id from Account where CreatedDate > 'yesterday'",
                "MALFORMED_QUERY",
                "date-time",
            ),
            (
                "select Id from Account where AdditionalEmailAddresses = 'a'",
                "MALFORMED_QUERY",
                "filter",
            ),
            (
                "select Id from Account where Name = 'x'; delete from Account",
                "MALFORMED_QUERY",
                ";",
            ),
        ],
    )
    async def test_unsupported_queries_are_400_faults(self, client, tenant, text, code, fragment):
        code_seen, message = assert_action_fault(await query(client, tenant, text), 400)
        assert code_seen == code
        assert fragment in message

    async def test_a_missing_query_string_is_refused(self, client, tenant):
        response = await client.post("/v1/action/query", json={}, headers=tenant.headers)
        code, _ = assert_action_fault(response, 400)
        assert code == "MISSING_REQUIRED_VALUE"


class TestTenantIsolation:
    async def test_another_tenants_records_never_appear(
        self, client, tenant, other_tenant, accounts
    ):
        mine = await make_account(client, other_tenant, Name="Acme")
        assert await ids(client, other_tenant, "select Id from Account") == {mine}
        assert (
            await ids(
                client, other_tenant, f"select Id from Account where Id = '{accounts['Acme']}'"
            )
            == set()
        )
        assert mine not in await ids(client, tenant, "select Id from Account where Name = 'Acme'")

    async def test_a_locator_runs_under_the_presenting_tenant(
        self, client, tenant, other_tenant, accounts
    ):
        body = (await query(client, tenant, "select Id from Account", batchSize=1)).json()
        more = await client.post(
            "/v1/action/queryMore",
            json={"queryLocator": body["queryLocator"]},
            headers=other_tenant.headers,
        )
        assert more.status_code == 200
        assert more.json()["records"] == []
