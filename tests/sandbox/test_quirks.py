"""The data quirks over loopback: what the default sandbox sends, and what ``quirks=False`` leaves out.

Only two break the spec's schemas: address types in lower case, and nulls (which the spec allows
only through OpenAPI 3.0's ``nullable``, though it declares 3.1); they go with quirks off. Every
other oddity is one the spec allows and Codat's examples or docs show (docs/sandbox.md "Data
quirks"), so both modes send it. These tests need no spec file; ``test_conformance`` checks the
strict sandbox against the spec itself.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from airflow_provider_codat.resources import RESOURCES
from airflow_provider_codat.sandbox import CodatSandbox

RECORDS = 40
SCHEMA_ADDRESS_TYPES = {"Billing", "Delivery", "Order", "Inventory", "Unknown"}
SCHEMA_PAYMENT_METHOD_STATUSES = {"Unknown", "Active", "Archived"}

Served = dict[str, list[dict[str, Any]]]
"""Every record of every resource on every connection, by resource name."""


@pytest.fixture(scope="module", params=[True, False], ids=["quirks-on", "quirks-off"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[bool, Served, str]]:
    quirks: bool = request.param
    records: Served = {r.name: [] for r in RESOURCES}
    texts: list[str] = []
    with (
        CodatSandbox(companies=2, connections=2, records=RECORDS, quirks=quirks) as sandbox,
        httpx.Client(base_url=sandbox.url, headers={"Authorization": sandbox.auth_header}) as client,
    ):
        for company, connection in sandbox.connections:
            for resource in RESOURCES:
                path = f"/companies/{company}/connections/{connection}/data/{resource.path}"
                reply = client.get(path, params={"pageSize": "100"} if resource.listable else None)
                assert reply.status_code == 200, reply.text
                body = reply.json()
                records[resource.name].extend(body["results"] if resource.listable else [body])
                texts.append(reply.text)
    yield quirks, records, "\n".join(texts)


def _address_types(records: Served) -> set[str]:
    customers = [a["type"] for c in records["customers"] for a in c["addresses"]]
    info = [a["type"] for c in records["company_info"] for a in c["addresses"]]
    locations = [loc["address"]["type"] for loc in records["locations"]]
    return {*customers, *info, *locations}


def test_address_types_come_in_lower_case_with_quirks_on_only(served: tuple[bool, Served, str]) -> None:
    quirks, records, _ = served
    types = _address_types(records)
    if quirks:
        assert {"billing", "Billing", "Inventory"} <= types
        assert types - SCHEMA_ADDRESS_TYPES == {"billing"}  # as Codat's Customer examples spell it
    else:
        assert types <= SCHEMA_ADDRESS_TYPES


def test_records_carry_nulls_with_quirks_on_only(served: tuple[bool, Served, str]) -> None:
    quirks, _, text = served
    assert ('"supplementalData":{"content":null}' in text) is quirks
    assert ("null" in text) is quirks


def test_platform_answers_and_errors_carry_nulls_with_quirks_on_only() -> None:
    for quirks in (True, False):
        with (
            CodatSandbox(quirks=quirks) as sandbox,
            httpx.Client(base_url=sandbox.url, headers={"Authorization": sandbox.auth_header}) as client,
        ):
            company = sandbox.company_ids[0]
            replies = [
                client.get("/companies"),
                client.post(f"/companies/{company}/data/queue/commerce-orders"),
                client.get(f"/companies/{company}/data/history"),
                client.get("/companies/not-a-company"),
                client.get("/no-such-route"),
                client.get("/companies", headers={"Authorization": "Basic bm9wZQ=="}),
            ]
        assert [reply.status_code for reply in replies] == [200, 200, 200, 404, 404, 401]
        assert all((b"null" in reply.content) is quirks for reply in replies), quirks


def test_payment_method_statuses_are_the_schemas_in_both_modes(served: tuple[bool, Served, str]) -> None:
    _, records, _ = served
    statuses = {m["status"] for m in records["payment_methods"]}
    assert statuses <= SCHEMA_PAYMENT_METHOD_STATUSES
    assert "Unknown" in statuses


def _ids(records: Served, *resources: str) -> list[str]:
    return [r["id"] for name in resources for r in records[name]]


ODDITIES: dict[str, Callable[[Served, str], bool]] = {
    "the 0001-01-01T00:00:00 sentinel": lambda _, text: '"0001-01-01T00:00:00"' in text,
    "naive dates": lambda _, text: re.search(r'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"', text) is not None,
    "dates with an offset": lambda _, text: re.search(r'T\d\d:\d\d:\d\d\+02:00"', text) is not None,
    "seven fractional digits": lambda _, text: re.search(r'\.\d{7}Z"', text) is not None,
    "ids with ':' and spaces": lambda r, _: any(":" in i and " " in i for i in _ids(r, "transactions")),
    "ids with quotes": lambda r, _: any('"' in i for i in _ids(r, "products")),
    "padded country codes": lambda _, text: re.search(r'"country":"[A-Z]{2} "', text) is not None,
    "lower-case currencies": lambda _, text: re.search(r'[cC]urrency":"[a-z]{3}"', text) is not None,
    "empty strings": lambda _, text: '""' in text,
    "exponent notation": lambda _, text: re.search(r"[:,]-?\de-\d", text) is not None,
    "negative refunds": lambda r, _: any(
        t["type"] == "Refund" and t["totalAmount"] < 0 for t in r["transactions"]
    ),
    "Payment type, outside the schema": lambda r, _: all("type" in p for p in r["payments"]),
    "Product status, outside the schema": lambda r, _: all("status" in p for p in r["products"]),
}


@pytest.mark.parametrize("oddity", ODDITIES)
def test_both_modes_send_the_oddities_the_spec_allows(served: tuple[bool, Served, str], oddity: str) -> None:
    _, records, text = served
    assert ODDITIES[oddity](records, text)


def test_state_says_whether_quirks_are_on() -> None:
    with CodatSandbox(quirks=False) as strict, CodatSandbox() as quirky:
        assert httpx.get(strict.url + "/_sandbox/state").json()["quirks"] is False
        assert httpx.get(quirky.url + "/_sandbox/state").json()["quirks"] is True


def test_quirks_must_be_a_boolean() -> None:
    with pytest.raises(ValueError, match=r"^quirks: must be True or False, got 'off'$"):
        CodatSandbox(quirks="off")


SHARED_FIXTURE_TEST = """
import httpx


def test_the_shared_sandbox_is_strict(codat_sandbox):
    assert codat_sandbox.config.quirks is False
    assert httpx.get(codat_sandbox.url + "/_sandbox/state").json()["quirks"] is False
"""


def _pytest_in(folder: Path, ini: str) -> subprocess.CompletedProcess[str]:
    """Run pytest on :data:`SHARED_FIXTURE_TEST` in a project of its own with ``ini`` as its pytest.ini."""
    (folder / "pytest.ini").write_text(f"[pytest]\n{ini}\n")
    (folder / "test_strict.py").write_text(SHARED_FIXTURE_TEST)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_strict.py"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_ini_setting_turns_the_shared_fixtures_quirks_off(tmp_path: Path) -> None:
    result = _pytest_in(tmp_path, "codat_sandbox_quirks = off")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_the_ini_setting_refuses_anything_but_on_and_off(tmp_path: Path) -> None:
    result = _pytest_in(tmp_path, "codat_sandbox_quirks = strict")
    assert result.returncode != 0
    assert "codat_sandbox_quirks: expected on or off, got 'strict'" in result.stdout
