"""``CodatCommerceHook`` against the sandbox: every operation, sync and async, bad input, no leaked secret."""

from __future__ import annotations

import asyncio
import base64
import importlib
import itertools
import json
import logging
import math
import socket
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from pytest_mock import MockerFixture

from airflow_provider_codat.exceptions import (
    CodatConfigError,
    CodatDatasetInProgressError,
    CodatError,
    CodatForbiddenError,
    CodatNotFoundError,
)
from airflow_provider_codat.get_provider_info import get_provider_info
from airflow_provider_codat.hooks._connection import EXTRA_FIELDS, config_from_connection
from airflow_provider_codat.hooks.commerce import CodatCommerceHook
from airflow_provider_codat.hooks.platform import TEST_ATTEMPTS, check_page_size
from airflow_provider_codat.resources import RESOURCES, listable_resources
from airflow_provider_codat.sandbox import CodatSandbox
from tests.commerce_fixtures import FAST, connection_json

from .conftest import API_KEY, RECORDS

LISTABLE = list(listable_resources())
NOT_A_UUID = "acme-coffee"

# --- construction and identity ----------------------------------------------------------------------


def test_class_attributes() -> None:
    assert CodatCommerceHook.conn_name_attr == "codat_conn_id"
    assert CodatCommerceHook.default_conn_name == "codat_default"
    assert CodatCommerceHook.conn_type == "codat"
    assert CodatCommerceHook.hook_name == "Codat"
    assert CodatCommerceHook().codat_conn_id == "codat_default"


def test_constructing_reads_no_connection_and_sends_nothing(
    sandbox: CodatSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_NOT_DEFINED_ANYWHERE", raising=False)
    before = sandbox.requests_today()
    missing = CodatCommerceHook("not_defined_anywhere")
    assert "config" not in missing.__dict__ and "client" not in missing.__dict__
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_DEFAULT", connection_json(sandbox))
    present = CodatCommerceHook()
    assert "config" not in present.__dict__ and "client" not in present.__dict__
    assert sandbox.requests_today() == before
    with pytest.raises(Exception, match="not_defined_anywhere"):
        _ = missing.config
    assert present.config.base_url == sandbox.url  # read on first use
    assert sandbox.requests_today() == before


def test_the_connection_is_read_once(hook: CodatCommerceHook, monkeypatch: pytest.MonkeyPatch) -> None:
    first = hook.config
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_DEFAULT", '{"conn_type": "codat", "password": "other-key"}')
    assert hook.config is first
    assert hook.get_conn() is hook.client


# --- test_connection -----------------------------------------------------------------------------------


def test_test_connection_ok(hook: CodatCommerceHook, sandbox: CodatSandbox) -> None:
    assert hook.test_connection() == (True, f"Connected to Codat at {sandbox.url}: 1 company visible.")
    assert "client" not in hook.__dict__  # the UI's button leaves no pool open


def test_test_connection_with_the_plugin_fixture(codat_airflow_conn: CodatSandbox) -> None:
    ok, message = CodatCommerceHook().test_connection()
    assert ok and codat_airflow_conn.url in message


def test_test_connection_wrong_key(sandbox: CodatSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = "sk-wrong-Kq71-NOPE"
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_DEFAULT", connection_json(sandbox, password=wrong))
    ok, message = CodatCommerceHook().test_connection()
    assert not ok
    assert "401" in message and "API key" in message
    assert wrong not in message and base64.b64encode(wrong.encode()).decode() not in message


def closed_port() -> int:
    """A loopback port nothing listens on: bound, then released."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_test_connection_unreachable_names_the_base_url_not_the_key(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    port = closed_port()
    key = "k-12345-UNREACHABLE"
    conn = {"conn_type": "codat", "host": f"http://127.0.0.1:{port}", "password": key, "extra": FAST}
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_DEFAULT", json.dumps(conn))
    caplog.set_level(logging.WARNING, logger="airflow_provider_codat")
    ok, message = CodatCommerceHook().test_connection()
    assert not ok
    assert message == f"request to http://127.0.0.1:{port} failed: ConnectError (GET /companies)"
    # The connection allows 16 attempts; the button makes TEST_ATTEMPTS, so it answers promptly.
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert len(retries) == TEST_ATTEMPTS - 1, retries
    assert key not in message + caplog.text
    assert base64.b64encode(key.encode()).decode() not in message + caplog.text


def test_test_connection_says_https_was_assumed_for_a_host_without_a_scheme(
    sandbox: CodatSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = sandbox.url.removeprefix("http://")  # 127.0.0.1:PORT, served over plain HTTP
    conn = {
        "conn_type": "codat",
        "host": plain,
        "password": sandbox.api_key,
        "extra": {**FAST, "max_attempts": 2},
    }
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_DEFAULT", json.dumps(conn))
    hook = CodatCommerceHook()
    assert hook.config.base_url == f"https://{plain}" and hook.config.scheme_assumed
    ok, message = hook.test_connection()
    assert not ok
    assert message.startswith(f"request to https://{plain} failed: ConnectError; ")
    assert (
        f"https:// was assumed because the host has no scheme: write {sandbox.url} for a plain-HTTP"
        in message
    )
    assert sandbox.api_key not in message
    with pytest.raises(CodatError, match="https:// was assumed"):  # a task's error says it too
        hook.get_company(sandbox.connections[0][0])
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_DEFAULT", json.dumps({**conn, "host": sandbox.url}))
    assert CodatCommerceHook().test_connection() == (
        True,
        f"Connected to Codat at {sandbox.url}: 1 company visible.",
    )


def test_an_unreachable_host_is_named_without_user_info_or_query(monkeypatch: pytest.MonkeyPatch) -> None:
    port = closed_port()
    host = f"http://admin:pw-SECRET-77@127.0.0.1:{port}/v1?token=tk-SECRET-88"
    conn = {"conn_type": "codat", "host": host, "password": "k-1", "extra": {"max_attempts": 1}}
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_DEFAULT", json.dumps(conn))
    ok, message = CodatCommerceHook().test_connection()
    assert not ok and message.startswith(f"request to http://127.0.0.1:{port}/v1 failed: ConnectError")
    assert "SECRET" not in message and "admin" not in message


def test_an_explicit_https_host_is_not_called_assumed(monkeypatch: pytest.MonkeyPatch) -> None:
    port = closed_port()
    conn = {
        "conn_type": "codat",
        "host": f"https://127.0.0.1:{port}",
        "password": "k-1",
        "extra": {"max_attempts": 1},
    }
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_DEFAULT", json.dumps(conn))
    ok, message = CodatCommerceHook().test_connection()
    assert not ok and message == f"request to https://127.0.0.1:{port} failed: ConnectError (GET /companies)"


@pytest.mark.parametrize("conn_id", ["irZlTJGb", "codat_prod"])
def test_test_connection_messages_name_no_connection_id(
    sandbox: CodatSandbox, monkeypatch: pytest.MonkeyPatch, conn_id: str
) -> None:
    """The UI tests a copy under a temporary id (``irZlTJGb``): no message quotes the id it was given."""

    def test(password: str | None = None, **extra: Any) -> str:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection_json(sandbox, password, **extra))
        return CodatCommerceHook(conn_id).test_connection()[1]

    messages = {
        "ok": test(),
        "wrong key": test("sk-wrong-1"),
        "bad extra": test(page_size=2.5),
        "unknown extra": test(bogus=1),
        "empty key": test(" "),
    }
    assert messages["ok"] == f"Connected to Codat at {sandbox.url}: 1 company visible."
    assert messages["wrong key"] == "Codat refused the API key (401 Unauthorized): check the API key."
    assert messages["bad extra"].startswith("The connection cannot be used: page_size: ")
    assert messages["unknown extra"].startswith(
        "The connection cannot be used: unknown extra field(s) bogus;"
    )
    assert messages["empty key"] == "The connection cannot be used: the API key is empty"
    for message in messages.values():
        assert conn_id not in message and "codat connection" not in message


# --- the 21 Commerce operations ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ids(sandbox: CodatSandbox) -> tuple[str, str]:
    return sandbox.connections[1]


@pytest.mark.parametrize("resource", LISTABLE, ids=lambda r: r.name)
def test_list_and_get_every_resource(hook: CodatCommerceHook, ids: tuple[str, str], resource: Any) -> None:
    company, connection = ids
    records = list(hook.list(resource.name, company, connection, page_size=7))
    record_ids = [r["id"] for r in records]
    assert len(records) == RECORDS == len(set(record_ids))
    assert list(hook.list(resource.data_type, company, connection, order_by="-modifiedDate"))  # by data type
    for record in (records[0], records[3], records[5], records[4], records[-1]):
        assert hook.get(resource.name, company, connection, record["id"]) == record


def test_odd_ids_and_exact_amounts(hook: CodatCommerceHook, ids: tuple[str, str]) -> None:
    company, connection = ids
    fee = hook.get("transactions", company, connection, "txn_3:Stripe processing fees")
    assert fee["totalAmount"] == Decimal("-5e-7") and isinstance(fee["totalAmount"], Decimal)
    assert hook.get("customers", company, connection, "cus_5 guest")["id"] == "cus_5 guest"
    assert hook.get("products", company, connection, 'prod_4 "deluxe"')["id"] == 'prod_4 "deluxe"'
    order = hook.get("orders", company, connection, "ord_13")
    assert order["totalGratuity"] == Decimal("5e-7")
    amounts = [r["totalAmount"] for r in hook.list("orders", company, connection)]
    assert all(isinstance(a, int | Decimal) for a in amounts)


def test_get_company_info(hook: CodatCommerceHook, ids: tuple[str, str]) -> None:
    info = hook.get_company_info(*ids)
    assert info["companyName"].startswith("Acme Coffee") and "id" not in info


def test_list_pages_streams_pages_with_their_texts(hook: CodatCommerceHook, ids: tuple[str, str]) -> None:
    pages = list(hook.list_pages("payments", *ids, page_size=8, query="amount>0"))
    assert pages[0].total > 8
    assert [p.number for p in pages] == list(range(1, math.ceil(pages[0].total / 8) + 1))
    assert all(len(p.texts) == len(p.records) for p in pages)


def test_list_pages_logs_progress_at_info_a_few_times_and_always_the_last_page(
    hook: CodatCommerceHook, ids: tuple[str, str], mocker: MockerFixture, caplog: pytest.LogCaptureFixture
) -> None:
    clock = itertools.count(step=2.0)  # two seconds a page
    mocker.patch("airflow_provider_codat._logs.monotonic", side_effect=lambda: next(clock))
    caplog.set_level(logging.DEBUG, logger="airflow_provider_codat.hooks.commerce")
    pages = list(hook.list_pages("orders", *ids, page_size=1))
    assert len(pages) == RECORDS
    lines = [
        (r.levelno, r.getMessage())
        for r in caplog.records
        if r.name == "airflow_provider_codat.hooks.commerce"
    ]
    assert [m for level, m in lines if level == logging.INFO] == [
        "Codat orders: page 1 of 30, 1 record so far",
        "Codat orders: page 11 of 30, 11 records so far",
        "Codat orders: page 21 of 30, 21 records so far",
        "Codat orders: page 30 of 30, 30 records so far",
    ]
    assert len(lines) == RECORDS  # the other pages at DEBUG


def test_a_query_is_sent_url_encoded(hook: CodatCommerceHook, ids: tuple[str, str]) -> None:
    everything = list(hook.list("customers", *ids))
    guests = list(hook.list("customers", *ids, query="id~guest&&id!=cus_5 guest"))
    assert {r["id"] for r in guests} == {r["id"] for r in everything if "guest" in r["id"]} - {"cus_5 guest"}
    assert guests


def test_async_operations_match_the_sync_ones(hook: CodatCommerceHook, ids: tuple[str, str]) -> None:
    company, connection = ids

    async def main() -> dict[str, Any]:
        listed: dict[str, list[Any]] = {}
        for r in LISTABLE:
            listed[r.name] = [rec async for rec in hook.alist(r.name, company, connection, page_size=9)]
        got = {
            r.name: await hook.aget(r.name, company, connection, listed[r.name][3]["id"]) for r in LISTABLE
        }
        info, status = await asyncio.gather(
            hook.aget_company_info(company, connection), hook.aget_data_status(company)
        )
        pages = [p.number async for p in hook.alist_pages("orders", company, connection, page_size=10)]
        return {"listed": listed, "got": got, "info": info, "status": status, "pages": pages}

    result = asyncio.run(main())
    for r in LISTABLE:
        assert result["listed"][r.name] == list(hook.list(r.name, company, connection))
        assert result["got"][r.name] == result["listed"][r.name][3]
    assert result["info"] == hook.get_company_info(company, connection)
    assert result["status"].keys() == hook.get_data_status(company).keys()
    assert result["pages"] == [1, 2, 3]


# --- Platform ------------------------------------------------------------------------------------------


def test_companies_and_connections(hook: CodatCommerceHook, sandbox: CodatSandbox) -> None:
    companies = list(hook.list_companies(page_size=1))
    assert [c["id"] for c in companies] == sandbox.company_ids
    company = companies[0]
    assert hook.get_company(company["id"]) == company
    connections = list(hook.list_connections(company["id"], page_size=2))
    assert [c["id"] for c in connections] == [c["id"] for c in company["dataConnections"]]
    commerce = [c["id"] for c in connections if c["sourceType"] == "Commerce"]
    assert commerce == sandbox.connection_ids


def test_data_status(hook: CodatCommerceHook, ids: tuple[str, str]) -> None:
    status = hook.get_data_status(ids[0])
    assert set(status) == {r.data_type for r in RESOURCES}
    assert all(entry["dataType"] == key for key, entry in status.items())


def test_refresh_data_type_and_its_pull_operation(
    hook: CodatCommerceHook, sandbox: CodatSandbox, ids: tuple[str, str]
) -> None:
    sandbox.set_faults(sync_seconds=30)
    company, connection = ids
    op = hook.refresh_data_type(company, "tax_components", connection)
    assert (op["dataType"], op["connectionId"], op["companyId"]) == (
        "commerce-taxComponents",
        connection,
        company,
    )
    with pytest.raises(CodatDatasetInProgressError) as caught:
        hook.refresh_data_type(company, "commerce-taxComponents", connection)
    assert op["id"] in str(caught.value) and "POST" in str(caught.value)
    fetched = hook.get_pull_operation(company, op["id"])
    assert fetched["id"] == op["id"] and fetched["isCompleted"] is False
    assert asyncio.run(hook.aget_pull_operation(company, op["id"]))["id"] == op["id"]
    sandbox.set_faults(sync_seconds=0)
    every_connection = hook.refresh_data_type(company, "disputes")
    assert every_connection["dataType"] == "commerce-disputes"
    assert every_connection["connectionId"] in sandbox.connection_ids


def test_the_pull_history_is_listed_filtered_and_ordered(
    hook: CodatCommerceHook, sandbox: CodatSandbox, ids: tuple[str, str]
) -> None:
    sandbox.set_faults(sync_seconds=0)
    company, connection = ids
    queued = [hook.refresh_data_type(company, "products", connection)["id"] for _ in range(3)]
    newest_first = list(
        hook.list_pull_operations(
            company,
            query=f"dataType=commerce-products&&connectionId={connection}",
            order_by="-requested",
            page_size=2,
        )
    )
    assert sorted(op["id"] for op in newest_first) == sorted(queued)
    moments = [op["requested"] for op in newest_first]
    assert moments == sorted(moments, reverse=True)
    assert {op["id"] for op in hook.list_pull_operations(company)} >= set(queued)
    with pytest.raises(CodatConfigError, match=r"^company_id:"):
        next(hook.list_pull_operations(NOT_A_UUID))
    with pytest.raises(CodatConfigError, match=r"^page_size:"):
        next(hook.list_pull_operations(company, page_size=0))


def test_unknown_pull_operation_is_404(hook: CodatCommerceHook, ids: tuple[str, str]) -> None:
    with pytest.raises(CodatNotFoundError):
        hook.get_pull_operation(ids[0], "00000000-0000-4000-8000-000000000000")


# --- bad input is refused before any request ------------------------------------------------------------

C, K = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
U = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
NON_CANONICAL = {
    "no dashes": U.replace("-", ""),
    "braces": "{" + U + "}",
    "urn": "urn:uuid:" + U,
    "misplaced dashes": "3f2504e04-f89-41d3-9a0c-0305e82c3301",
    "non-ASCII digits": U.replace("3", "\u0663"),  # ARABIC-INDIC DIGIT THREE, which int(..., 16) reads
}
"""UUIDs Python's ``uuid.UUID`` accepts but that are not in the canonical 8-4-4-4-12 form."""


def _drain(it: Any) -> None:
    for _ in it:
        pass


async def _adrain(it: Any) -> None:
    async for _ in it:
        pass


BAD_CALLS: list[tuple[str, Callable[[CodatCommerceHook], Any], str]] = [
    ("list company", lambda h: _drain(h.list("orders", NOT_A_UUID, K)), "company_id"),
    ("list connection", lambda h: _drain(h.list("orders", C, NOT_A_UUID)), "connection_id"),
    ("list resource", lambda h: _drain(h.list("refunds", C, K)), "resource"),
    ("list singleton", lambda h: _drain(h.list("company_info", C, K)), "resource"),
    ("list page_size 0", lambda h: _drain(h.list("orders", C, K, page_size=0)), "page_size"),
    ("list page_size 5001", lambda h: _drain(h.list("orders", C, K, page_size=5001)), "page_size"),
    ("list page_size bool", lambda h: _drain(h.list("orders", C, K, page_size=True)), "page_size"),
    ("list page_size str", lambda h: _drain(h.list("orders", C, K, page_size="10")), "page_size"),
    ("list_models", lambda h: _drain(h.list_models("orders", C, K, page_size=-1)), "page_size"),
    ("get company", lambda h: h.get("orders", NOT_A_UUID, K, "ord_1"), "company_id"),
    ("get connection", lambda h: h.get("orders", C, "", "ord_1"), "connection_id"),
    ("get resource", lambda h: h.get("refunds", C, K, "x"), "resource"),
    ("get record", lambda h: h.get("orders", C, K, ""), "record_id"),
    ("company info", lambda h: h.get_company_info(C, NOT_A_UUID), "connection_id"),
    ("companies page_size", lambda h: _drain(h.list_companies(page_size=0)), "page_size"),
    ("companies page_size big", lambda h: _drain(h.list_companies(page_size=9999)), "page_size"),
    ("connections company", lambda h: _drain(h.list_connections(NOT_A_UUID)), "company_id"),
    ("connections page_size", lambda h: _drain(h.list_connections(C, page_size=0)), "page_size"),
    ("get_company", lambda h: h.get_company(NOT_A_UUID), "company_id"),
    ("data status", lambda h: h.get_data_status("1234"), "company_id"),
    ("refresh type", lambda h: h.refresh_data_type(C, "commerce-refunds", K), "data_type"),
    ("refresh company", lambda h: h.refresh_data_type(NOT_A_UUID, "orders"), "company_id"),
    ("refresh connection", lambda h: h.refresh_data_type(C, "orders", NOT_A_UUID), "connection_id"),
    ("pull operation", lambda h: h.get_pull_operation(C, "latest"), "pull_operation_id"),
    ("alist", lambda h: asyncio.run(_adrain(h.alist("orders", NOT_A_UUID, K))), "company_id"),
    ("alist size", lambda h: asyncio.run(_adrain(h.alist("orders", C, K, page_size=0))), "page_size"),
    ("alist resource", lambda h: asyncio.run(_adrain(h.alist("refunds", C, K))), "resource"),
    ("aget", lambda h: asyncio.run(h.aget("orders", C, NOT_A_UUID, "ord_1")), "connection_id"),
    ("aget record", lambda h: asyncio.run(h.aget("orders", C, K, "")), "record_id"),
    ("aget info", lambda h: asyncio.run(h.aget_company_info(NOT_A_UUID, K)), "company_id"),
    ("aget status", lambda h: asyncio.run(h.aget_data_status(NOT_A_UUID)), "company_id"),
    ("aget pull", lambda h: asyncio.run(h.aget_pull_operation(C, "nope")), "pull_operation_id"),
    ("get record dot", lambda h: h.get("orders", C, K, "."), "record_id"),
    ("get record dot-dot", lambda h: h.get("orders", C, K, ".."), "record_id"),
    ("get record list", lambda h: h.get("orders", C, K, ["ord_1"]), "record_id"),
    ("aget record dot", lambda h: asyncio.run(h.aget("orders", C, K, ".")), "record_id"),
    ("aget record dot-dot", lambda h: asyncio.run(h.aget("orders", C, K, "..")), "record_id"),
    ("list resource list", lambda h: _drain(h.list(["orders"], C, K)), "resource"),
    ("list_models resource list", lambda h: _drain(h.list_models(["orders"], C, K)), "resource"),
    ("list_models resource", lambda h: _drain(h.list_models("refunds", C, K)), "resource"),
    ("get resource list", lambda h: h.get(["orders"], C, K, "ord_1"), "resource"),
    ("refresh type list", lambda h: h.refresh_data_type(C, ["orders"]), "data_type"),
    *[
        (f"{form} company", lambda h, c=c: h.get("orders", c, K, "ord_1"), "company_id")
        for form, c in NON_CANONICAL.items()
    ],
    *[
        (f"{form} connection", lambda h, k=k: _drain(h.list("orders", C, k)), "connection_id")
        for form, k in NON_CANONICAL.items()
    ],
    *[
        (f"{form} pull", lambda h, p=p: asyncio.run(h.aget_pull_operation(C, p)), "pull_operation_id")
        for form, p in NON_CANONICAL.items()
    ],
]


@pytest.mark.parametrize(("call", "parameter"), [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS])
def test_bad_input_is_refused_before_any_request(
    hook: CodatCommerceHook,
    sandbox: CodatSandbox,
    call: Callable[[CodatCommerceHook], Any],
    parameter: str,
) -> None:
    before = sandbox.requests_today()
    with pytest.raises(CodatConfigError) as caught:
        call(hook)
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(f"{parameter}:")
    assert sandbox.requests_today() == before


def test_upper_case_ids_are_sent_in_canonical_lower_case(
    hook: CodatCommerceHook, sandbox: CodatSandbox, ids: tuple[str, str]
) -> None:
    company, connection = ids
    assert company == company.lower()  # Codat's ids, like the sandbox's, are lower case
    assert hook.get_company(company.upper())["id"] == company
    assert hook.get("orders", company.upper(), connection.upper(), "ord_1")["id"] == "ord_1"


def test_check_record_id() -> None:
    from airflow_provider_codat.hooks.commerce import check_record_id

    assert check_record_id("txn_1:Stripe processing fees") == "txn_1:Stripe processing fees"
    assert check_record_id("...") == "..."  # not a dot segment: sent percent-encoded like any id
    assert check_record_id(12345) == "12345"  # native Jinja rendering turns numeric ids into ints
    for bad in ("", ".", "..", None, True, 1.5, ["ord_1"]):
        with pytest.raises(CodatConfigError, match=r"^record_id: "):
            check_record_id(bad)


# --- secrets stay secret -------------------------------------------------------------------------------


def test_no_secret_in_logs_reprs_or_errors(
    hook: CodatCommerceHook,
    sandbox: CodatSandbox,
    ids: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "airflow_provider_codat"):
        caplog.set_level(logging.DEBUG, logger=name)
    company, connection = ids
    errors: list[BaseException] = []
    assert len(list(hook.list("transactions", company, connection, page_size=5))) == RECORDS
    sandbox.set_faults(server_error={"burst": 1})  # one retry, logged
    assert len(list(hook.list("orders", company, connection, page_size=10))) == RECORDS
    sandbox.set_faults(forced_error={"burst": 1}, forced_error_status=403)
    with pytest.raises(CodatForbiddenError) as forbidden:
        hook.get("orders", company, connection, "ord_1")
    errors.append(forbidden.value)
    with pytest.raises(CodatNotFoundError) as missing:
        asyncio.run(hook.aget("orders", company, connection, "ord_999999"))
    errors.append(missing.value)
    with pytest.raises(CodatConfigError) as bad:
        hook.get("orders", company, "x", "ord_1")
    errors.append(bad.value)

    captured = capfd.readouterr()
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert "Codat GET /companies/" in logged  # the capture works: these logs are the ones checked
    assert "retry 1" in logged
    header = hook.config.authorization.get_secret_value()
    assert header == "Basic " + base64.b64encode(API_KEY.encode()).decode()
    token = header.removeprefix("Basic ")
    places = {
        "logs": logged,
        "stdout": captured.out,
        "stderr": captured.err,
        "repr(hook)": repr(hook),
        "str(hook)": str(hook),
        "config": f"{hook.config!r} {hook.config!s} {hook.config.retry!r}",
        "client": repr(hook.client),
        "errors": " ".join(f"{e!s} {e!r} {e.args!r}" for e in errors),
    }
    for place, text in places.items():
        for secret in (API_KEY, token, header):
            assert secret not in text, f"{secret[:6]}... found in {place}"


# --- provider metadata ---------------------------------------------------------------------------------


def test_provider_info_declares_the_codat_connection_form() -> None:
    info = get_provider_info()
    (conn_type,) = info["connection-types"]
    assert conn_type["connection-type"] == "codat" == CodatCommerceHook.conn_type
    module, _, name = conn_type["hook-class-name"].rpartition(".")
    assert getattr(importlib.import_module(module), name) is CodatCommerceHook
    assert conn_type["hook-name"] == CodatCommerceHook.hook_name
    assert set(conn_type["conn-fields"]) == set(EXTRA_FIELDS)
    hidden = set(conn_type["ui-field-behaviour"]["hidden-fields"])
    assert {"login", "schema", "port"} <= hidden
    assert not {"host", "password"} & hidden
    assert info["hooks"][0]["python-modules"] == [module]


@pytest.mark.parametrize("field", EXTRA_FIELDS)
def test_the_form_refuses_what_the_hook_refuses(field: str) -> None:
    """Each form field's type and bounds are the config's: the form's values pass, the others are refused."""
    from airflow.sdk import Connection

    schema = get_provider_info()["connection-types"][0]["conn-fields"][field]["schema"]

    def config(value: float) -> Any:
        extra = json.dumps({field: value})
        return config_from_connection(Connection(conn_id="c", conn_type="codat", password="k-1", extra=extra))

    top = schema["maximum"]
    bottom = schema.get("minimum", schema.get("exclusiveMinimum"))
    allowed = [top, top - 1] + ([schema["minimum"]] if "minimum" in schema else [bottom + 0.001])
    refused = [top + 1, bottom - 1] + ([] if "minimum" in schema else [bottom])
    if schema["type"] == ["integer", "null"]:
        refused.append(bottom + 1.5)  # in range, but not whole: 2.5
    else:
        assert schema["type"] == ["number", "null"]
        allowed.append(bottom + 1.5)
    for ok in allowed:
        config(ok)
    for bad in refused:
        with pytest.raises(CodatConfigError, match=f"{field}:"):
            config(bad)


def test_the_form_has_the_hook_rules_numbers() -> None:
    from airflow_provider_codat.arguments import MAX_IN_FLIGHT_PER_COMPANY, MAX_PAGE_SIZE
    from airflow_provider_codat.client import ClientConfig

    fields = get_provider_info()["connection-types"][0]["conn-fields"]
    whole = {name for name, field in fields.items() if "integer" in field["schema"]["type"]}
    assert whole == {"max_attempts", "page_size", "max_concurrency"}
    assert (fields["page_size"]["schema"]["minimum"], fields["page_size"]["schema"]["maximum"]) == (
        1,
        MAX_PAGE_SIZE,
    )
    assert fields["max_concurrency"]["schema"]["maximum"] == MAX_IN_FLIGHT_PER_COMPANY
    defaults = ClientConfig(api_key="k-1")
    for name, value in [("page_size", defaults.page_size), ("max_attempts", defaults.retry.max_attempts)]:
        assert fields[name]["description"].endswith(f"; default {value}."), fields[name]["description"]
    check_page_size(MAX_PAGE_SIZE)  # the operators' argument rule takes the same range
    for bad in (0, MAX_PAGE_SIZE + 1, 2.5):
        with pytest.raises(CodatConfigError, match="page_size"):
            check_page_size(bad)


def test_errors_are_codat_errors(hook: CodatCommerceHook, ids: tuple[str, str]) -> None:
    with pytest.raises(CodatError):
        hook.get("orders", *ids, "ord_does_not_exist")
