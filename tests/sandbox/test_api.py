"""The Commerce and Platform API over loopback: paging, auth, errors and bad input."""

from __future__ import annotations

import base64
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Route

from airflow_provider_codat.resources import RESOURCES
from airflow_provider_codat.sandbox import CodatSandbox
from airflow_provider_codat.sandbox.app import create_app
from airflow_provider_codat.sandbox.world import World

from .conftest import data_path

LISTABLE = [r for r in RESOURCES if r.listable]


def assert_error(response: httpx.Response, status: int, contains: str = "") -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["statusCode"] == status
    assert set(body) >= {
        "statusCode",
        "service",
        "error",
        "correlationId",
        "canBeRetried",
        "detailedErrorCode",
    }
    assert contains in body["error"]
    return body


def test_routes_match_the_registry_one_to_one(sandbox: CodatSandbox) -> None:
    gate = create_app(World(sandbox.config))
    names = {r.name for r in gate.app.routes if isinstance(r, Route) and not r.path.startswith("/_sandbox")}  # type: ignore[attr-defined]
    commerce = {r.list_operation for r in RESOURCES if r.list_operation} | {
        r.get_operation for r in RESOURCES
    }
    assert len(commerce) == 21
    assert commerce <= names
    platform = names - commerce
    assert platform == {
        "list-companies",
        "get-company",
        "list-connections",
        "get-connection",
        "get-company-data-status",
        "refresh-data-type",
        "list-pull-operations",
        "get-pull-operation",
    }


@pytest.mark.parametrize("resource", LISTABLE, ids=lambda r: r.name)
@pytest.mark.parametrize("page_size", [1, 7, 100])
def test_paging_returns_exactly_total_results(
    sandbox: CodatSandbox, client: httpx.Client, resource, page_size: int
) -> None:
    path = data_path(sandbox, resource.path)
    ids: list[str] = []
    page = 1
    while True:
        body = client.get(path, params={"page": page, "pageSize": page_size}).json()
        ids.extend(r["id"] for r in body["results"])
        assert body["pageNumber"] == page and body["pageSize"] == page_size
        assert body["_links"]["self"]["href"] == path
        assert body["_links"]["current"]["href"] == f"{path}?page={page}&pageSize={page_size}"
        if "next" not in body["_links"]:
            break
        assert body["_links"]["next"]["href"] == f"{path}?page={page + 1}&pageSize={page_size}"
        page += 1
    assert len(ids) == len(set(ids)) == body["totalResults"] == 30
    past_the_end = client.get(path, params={"page": page + 1, "pageSize": page_size}).json()
    assert past_the_end["results"] == [] and "next" not in past_the_end["_links"]


def test_links_keep_query_and_order(sandbox: CodatSandbox, client: httpx.Client) -> None:
    path = data_path(sandbox, "commerce-orders")
    body = client.get(path, params={"pageSize": 2, "query": "totalAmount>1", "orderBy": "-id"}).json()
    assert body["_links"]["next"]["href"] == f"{path}?page=2&pageSize=2&query=totalAmount%3E1&orderBy=-id"


def test_get_by_id_percent_encoded(sandbox: CodatSandbox, client: httpx.Client) -> None:
    path = data_path(sandbox, "commerce-transactions")
    listed = client.get(path, params={"pageSize": 30}).json()["results"]
    quirky = next(r for r in listed if ":" in r["id"])
    fetched = client.get(f"{path}/{quote(quirky['id'], safe='')}")
    assert fetched.status_code == 200 and fetched.json() == quirky


def test_company_info_is_one_object_without_id(sandbox: CodatSandbox, client: httpx.Client) -> None:
    body = client.get(data_path(sandbox, "commerce-info")).json()
    assert "id" not in body and "results" not in body and body["companyName"]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic",
        "Bearer abc",
        "Basic not-base64!",
        "Basic " + base64.b64encode(b"wrong").decode(),
        "basic " + base64.b64encode(b"codat-sandbox").decode(),
    ],
)
def test_anything_but_the_right_basic_header_is_401(sandbox: CodatSandbox, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = httpx.get(sandbox.url + "/companies", headers=headers)
    assert_error(response, 401, "Unauthorized")
    assert response.headers["X-Rate-Limit-Limit"]


def test_not_found(sandbox: CodatSandbox, client: httpx.Client) -> None:
    company, connection = sandbox.connections[0]
    unknown = "00000000-0000-4000-8000-000000000000"
    assert_error(
        client.get(f"/companies/{unknown}/connections/{connection}/data/commerce-orders"), 404, unknown
    )
    assert_error(client.get(f"/companies/{company}/connections/{unknown}/data/commerce-orders"), 404, unknown)
    assert_error(client.get(data_path(sandbox, "commerce-orders/ord_99999")), 404, "ord_99999")
    assert_error(client.get(f"/companies/{unknown}"), 404)
    assert_error(client.get("/no/such/route"), 404)


def test_accounting_connections_have_no_commerce_data(sandbox: CodatSandbox, client: httpx.Client) -> None:
    company = sandbox.company_ids[0]
    conns = client.get(f"/companies/{company}/connections").json()["results"]
    accounting = next(c for c in conns if c["sourceType"] == "Accounting")
    assert_error(client.get(f"/companies/{company}/connections/{accounting['id']}/data/commerce-orders"), 404)


@pytest.mark.parametrize(
    ("params", "item"),
    [
        ({"page": 0}, "page"),
        ({"page": "x"}, "page"),
        ({"pageSize": 0}, "pageSize"),
        ({"pageSize": 5001}, "pageSize"),
        ({"pageSize": "1.5"}, "pageSize"),
    ],
)
def test_paging_parameters_are_validated(
    sandbox: CodatSandbox, client: httpx.Client, params: dict, item: str
) -> None:
    body = assert_error(client.get(data_path(sandbox, "commerce-orders"), params=params), 400, item)
    assert body["validation"]["errors"][0]["itemId"] == item


def test_page_size_5000_is_allowed(sandbox: CodatSandbox, client: httpx.Client) -> None:
    assert client.get(data_path(sandbox, "commerce-orders"), params={"pageSize": 5000}).status_code == 200


def test_query_errors_carry_codats_messages(sandbox: CodatSandbox, client: httpx.Client) -> None:
    path = data_path(sandbox, "commerce-orders")
    assert_error(
        client.get(path, params={"query": "nope=1"}),
        400,
        "Error parsing query - Could not resolve property nope on Order",
    )
    assert_error(client.get(path, params={"query": "id="}), 400, "Error parsing query - Malformed query.")
    assert_error(client.get(path, params={"query": "id=" + "x" * 2046}), 400, "2048")
    assert client.get(path, params={"query": "id=" + "x" * 2045}).status_code == 200
    assert_error(client.get(path, params={"orderBy": "nope"}), 400, "nope")


def test_query_and_order_over_http(sandbox: CodatSandbox, client: httpx.Client) -> None:
    path = data_path(sandbox, "commerce-transactions")
    everything = client.get(path, params={"pageSize": 5000}).json()["results"]
    body = client.get(
        path,
        params={"query": "{type=Payout||type=Refund}&&totalAmount<0", "orderBy": "-id", "pageSize": 5000},
    ).json()
    expected = sorted(
        (r["id"] for r in everything if r["type"] in ("Payout", "Refund") and r["totalAmount"] < 0),
        reverse=True,
    )
    assert [r["id"] for r in body["results"]] == expected
    assert body["totalResults"] == len(expected)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=60), order=st.text(max_size=20), page=st.text(max_size=5))
def test_bad_input_gets_a_4xx_error_message_never_a_crash(
    sandbox: CodatSandbox, client: httpx.Client, query: str, order: str, page: str
) -> None:
    response = client.get(
        data_path(sandbox, "commerce-orders"), params={"query": query, "orderBy": order, "page": page}
    )
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert_error(response, 400)


def test_companies_and_connections_are_paged(sandbox: CodatSandbox, client: httpx.Client) -> None:
    first = client.get("/companies", params={"pageSize": 1}).json()
    assert first["totalResults"] == 2 and len(first["results"]) == 1 and "next" in first["_links"]
    company = first["results"][0]
    assert [c["sourceType"] for c in company["dataConnections"]] == ["Commerce", "Commerce", "Accounting"]
    assert client.get(f"/companies/{company['id']}").json() == company
    conns = client.get(f"/companies/{company['id']}/connections").json()
    assert conns["totalResults"] == 3
    one = client.get(f"/companies/{company['id']}/connections/{conns['results'][0]['id']}").json()
    assert one == conns["results"][0]


def test_unlinked_connections_are_the_last_commerce_ones(sandbox: CodatSandbox, client: httpx.Client) -> None:
    statuses = [
        c["status"]
        for company in client.get("/companies").json()["results"]
        for c in company["dataConnections"]
        if c["sourceType"] == "Commerce"
    ]
    assert statuses == ["Linked", "Linked", "Linked", "Unlinked"]


def test_the_control_endpoint_refuses_unknown_fault_names(sandbox: CodatSandbox) -> None:
    response = httpx.patch(sandbox.url + "/_sandbox/faults", json={"latency": 5})
    assert_error(response, 400, "latency: unknown fault setting")
    response = httpx.patch(sandbox.url + "/_sandbox/faults", json={"latency_ms": -1})
    assert_error(response, 400, "latency_ms")
    assert httpx.get(sandbox.url + "/_sandbox/state").json()["faults"]["latency_ms"] == 0


def test_rendered_pages_are_reused_until_their_data_changes(
    sandbox: CodatSandbox, client: httpx.Client
) -> None:
    path = data_path(sandbox, "commerce-payments")
    first = client.get(path, params={"pageSize": 30}).content
    assert client.get(path, params={"pageSize": 30}).content == first
    _, connection = sandbox.connections[0]
    httpx.post(
        sandbox.url + "/_sandbox/mutate",
        json={"resource": "payments", "count": 2, "connection_id": connection},
    )
    changed = client.get(path, params={"pageSize": 30}).json()
    assert changed != httpx.Response(200, content=first).json()
    assert changed["totalResults"] == 30


@pytest.mark.parametrize("page", ["99999999999999999999", "2147483648", "1_0", "\u0661"])
@pytest.mark.parametrize("path", ["commerce-orders", "/companies"])
def test_a_page_number_codat_cannot_read_is_a_400_error_message(
    sandbox: CodatSandbox, client: httpx.Client, page: str, path: str
) -> None:
    url = path if path.startswith("/") else data_path(sandbox, path)
    response = client.get(url, params={"page": page})
    assert response.headers["content-type"] == "application/json"
    body = assert_error(response, 400, "page must be a whole number between 1 and 2147483647")
    assert body["validation"]["errors"][0]["itemId"] == "page"
