"""Every fault the sandbox injects, observed over loopback with real httpx."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_codat.sandbox import CodatSandbox, FaultConfig

from .conftest import data_path


def test_rate_limit_headers_are_always_present_and_count_down(
    sandbox: CodatSandbox, client: httpx.Client
) -> None:
    first = client.get("/companies")
    second = client.get("/companies")
    assert first.headers["X-Rate-Limit-Limit"] == "3000"
    assert int(second.headers["X-Rate-Limit-Remaining"]) == int(first.headers["X-Rate-Limit-Remaining"]) - 1
    reset = datetime.fromisoformat(first.headers["X-Rate-Limit-Reset"].replace("Z", "+00:00"))
    assert reset > datetime.now(UTC) and reset.hour == 0


def test_latency(sandbox: CodatSandbox, client: httpx.Client) -> None:
    sandbox.set_faults(latency_ms=200)
    started = time.perf_counter()
    client.get("/companies")
    assert time.perf_counter() - started >= 0.2


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_rate_limit_every_nth_with_retry_after(
    sandbox: CodatSandbox, client: httpx.Client, form: str
) -> None:
    sandbox.set_faults(rate_limit={"every": 3}, retry_after_seconds=7, retry_after_form=form)
    statuses = [client.get("/companies") for _ in range(6)]
    assert [r.status_code for r in statuses] == [200, 200, 429, 200, 200, 429]
    limited = statuses[2]
    assert limited.json()["statusCode"] == 429 and limited.headers["X-Rate-Limit-Remaining"]
    retry_after = limited.headers["Retry-After"]
    if form == "seconds":
        assert retry_after == "7"
    else:
        wait = (parsedate_to_datetime(retry_after) - datetime.now(UTC)).total_seconds()
        assert 4 <= wait <= 8


def test_rate_limit_burst_then_recovers(sandbox: CodatSandbox, client: httpx.Client) -> None:
    sandbox.set_faults(rate_limit={"burst": 2})
    assert [client.get("/companies").status_code for _ in range(3)] == [429, 429, 200]


def test_faults_can_target_a_path(sandbox: CodatSandbox, client: httpx.Client) -> None:
    sandbox.set_faults(server_error={"every": 1, "path_contains": "commerce-orders"})
    assert client.get(data_path(sandbox, "commerce-customers")).status_code == 200
    assert client.get(data_path(sandbox, "commerce-orders")).status_code == 503


def test_daily_quota_exhaustion_means_hours_of_waiting(sandbox: CodatSandbox, client: httpx.Client) -> None:
    sandbox.set_faults(quota_exhausted=True)
    response = client.get("/companies")
    assert response.status_code == 429
    assert response.headers["X-Rate-Limit-Remaining"] == "0"
    seconds = int(response.headers["Retry-After"])
    now = datetime.now(UTC)
    midnight = (now.replace(hour=0, minute=0, second=0, microsecond=0)).timestamp() + 86400
    assert abs(seconds - (midnight - now.timestamp())) < 5
    sandbox.set_faults(quota_exhausted=False, retry_after_form="http-date")
    sandbox.set_faults(daily_quota=0)
    response = client.get("/companies")
    assert response.status_code == 429
    assert parsedate_to_datetime(response.headers["Retry-After"]).timestamp() == pytest.approx(
        midnight, abs=2
    )


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_burst(sandbox: CodatSandbox, client: httpx.Client, status: int) -> None:
    sandbox.set_faults(server_error={"burst": 2}, server_error_status=status)
    responses = [client.get("/companies") for _ in range(3)]
    assert [r.status_code for r in responses] == [status, status, 200]
    assert responses[0].json()["statusCode"] == status


@pytest.mark.parametrize("status", [402, 403])
def test_forced_error_status(sandbox: CodatSandbox, client: httpx.Client, status: int) -> None:
    sandbox.set_faults(forced_error={"burst": 1}, forced_error_status=status)
    assert client.get("/companies").json()["statusCode"] == status
    assert client.get("/companies").status_code == 200


def test_connection_dropped_mid_body(sandbox: CodatSandbox, client: httpx.Client) -> None:
    sandbox.set_faults(drop_connection={"burst": 1})
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(data_path(sandbox, "commerce-orders"), params={"pageSize": 30})
    assert client.get(data_path(sandbox, "commerce-orders")).status_code == 200


def test_malformed_json_body(sandbox: CodatSandbox, client: httpx.Client) -> None:
    sandbox.set_faults(malformed_json={"burst": 1})
    response = client.get(data_path(sandbox, "commerce-orders"))
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_concurrency_limit_per_company(sandbox: CodatSandbox) -> None:
    sandbox.set_faults(latency_ms=400, concurrency_limit=3)
    company_a, company_b = sandbox.company_ids

    async def burst() -> list[int]:
        async with httpx.AsyncClient(
            base_url=sandbox.url, headers={"Authorization": sandbox.auth_header}
        ) as c:
            own = [c.get(f"/companies/{company_a}") for _ in range(5)]
            other = [c.get(f"/companies/{company_b}")]
            return [r.status_code for r in await asyncio.gather(*own, *other)]

    statuses = asyncio.run(burst())
    assert sorted(statuses[:5]) == [200, 200, 200, 429, 429]
    assert statuses[5] == 200


def test_data_changes_during_paging(sandbox: CodatSandbox, client: httpx.Client) -> None:
    sandbox.set_faults(mutate_every=2, mutate_records=3)
    path = data_path(sandbox, "commerce-customers", which=1)
    window = "modifiedDate<" + datetime.now(UTC).strftime("%Y-%m-%dT00:00:00Z")
    totals = [
        client.get(path, params={"query": window, "pageSize": 5, "page": p}).json()["totalResults"]
        for p in (1, 2)
    ]
    assert totals[1] < totals[0]
    changed = client.get(path, params={"query": "modifiedDate>=" + datetime.now(UTC).strftime("%Y-%m-%d")})
    assert changed.json()["totalResults"] == totals[0] - totals[1]


def test_payouts_arrive_over_time(sandbox: CodatSandbox, client: httpx.Client) -> None:
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    query = {"query": f"type=Payout&&modifiedDate>={since}"}
    path = data_path(sandbox, "commerce-transactions")
    assert client.get(path, params=query).json()["totalResults"] == 0
    sandbox.set_faults(payout_interval_s=0.2)
    time.sleep(0.7)
    payouts = client.get(path, params=query).json()
    assert payouts["totalResults"] >= 2
    assert all(r["type"] == "Payout" for r in payouts["results"])


def test_payouts_through_the_control_endpoint(sandbox: CodatSandbox, client: httpx.Client) -> None:
    _, connection = sandbox.connections[1]
    added = httpx.post(
        sandbox.url + "/_sandbox/payouts", json={"connection_id": connection, "count": 2}
    ).json()
    ids = added["added"][connection]
    for rid in ids:
        record = client.get(data_path(sandbox, f"commerce-transactions/{rid}", which=1)).json()
        assert record["type"] == "Payout"


# Bodies as raw JSON text: Python's json reads 1e999 as inf, and NaN as nan.
BAD_SETTINGS = [
    ('{"latency_ms": 1e999}', "latency_ms"),
    ('{"latency_ms": 60001}', "latency_ms"),
    ('{"retry_after_seconds": 1e999}', "retry_after_seconds"),
    ('{"retry_after_seconds": 86401}', "retry_after_seconds"),
    ('{"payout_interval_s": 1e-9}', "payout_interval_s"),
    ('{"payout_interval_s": Infinity}', "payout_interval_s"),
    ('{"sync_seconds": 1e999}', "sync_seconds"),
    ('{"mutate_records": 1000000000000}', "mutate_records"),
    ('{"server_error": {"burst": 1, "path_contains": 5}}', "server_error"),
    ('{"pull_outcome": {"*": "Processing"}}', "pull_outcome"),
    ('{"pull_outcome": {"commerce-orders": "Fetching"}}', "pull_outcome"),
    ('{"pull_outcome": {"orders": "FetchError"}}', "pull_outcome"),
]


@pytest.mark.parametrize(("body", "named"), BAD_SETTINGS, ids=[b for b, _ in BAD_SETTINGS])
def test_settings_out_of_range_are_refused_naming_the_field(
    sandbox: CodatSandbox, client: httpx.Client, body: str, named: str
) -> None:
    before = httpx.get(sandbox.url + "/_sandbox/state").json()["faults"]
    response = httpx.patch(
        sandbox.url + "/_sandbox/faults", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and response.headers["content-type"] == "application/json"
    assert response.json()["statusCode"] == 400 and response.json()["error"].startswith(f"{named}")
    assert httpx.get(sandbox.url + "/_sandbox/state").json()["faults"] == before
    assert client.get("/companies").status_code == 200


def test_per_connection_settings_must_name_a_commerce_connection(sandbox: CodatSandbox) -> None:
    company = sandbox.world.companies[sandbox.company_ids[0]]
    accounting = next(c.id for c in company.connections.values() if c.source_type == "Accounting")
    for bad in (accounting, "00000000-0000-4000-8000-000000000000"):
        response = httpx.patch(
            sandbox.url + "/_sandbox/faults", json={"per_connection": {bad: {"sync_seconds": 1}}}
        )
        assert response.status_code == 400 and response.json()["error"].startswith(f"per_connection[{bad}]")
    response = httpx.patch(sandbox.url + "/_sandbox/faults", json={"per_connection": [1]})
    assert response.status_code == 400 and "per_connection: expected" in response.json()["error"]
    response = httpx.patch(
        sandbox.url + "/_sandbox/faults",
        content=f'{{"per_connection": {{"{sandbox.connection_ids[0]}": {{"sync_seconds": 1e999}}}}}}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400 and "sync_seconds" in response.json()["error"]


@pytest.mark.parametrize(
    ("name", "count"), [("payouts", 10**12), ("payouts", True), ("mutate", 10**12), ("mutate", True)]
)
def test_control_counts_are_bounded(sandbox: CodatSandbox, name: str, count: object) -> None:
    response = httpx.post(f"{sandbox.url}/_sandbox/{name}", json={"count": count})
    assert response.status_code == 400 and "count" in response.json()["error"]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=20), inner, max_size=3),
    max_leaves=8,
)


@given(name=st.sampled_from(sorted(FaultConfig().to_json())), value=JSON)
def test_any_json_for_a_setting_is_taken_or_refused_by_name_never_a_crash(name: str, value: object) -> None:
    faults = FaultConfig()
    try:
        faults.update({name: value})
    except ValueError as exc:
        assert str(exc).startswith(name) and faults == FaultConfig()


def _rejected(client: httpx.Client) -> dict[str, int]:
    return dict(client.get("/_sandbox/state").json()["counters"]["rejected"])


def test_every_refusal_is_counted_by_kind(sandbox: CodatSandbox, client: httpx.Client) -> None:
    before = _rejected(client)
    sandbox.set_faults(rate_limit={"burst": 2})
    [client.get("/companies") for _ in range(3)]
    sandbox.set_faults(rate_limit={"burst": 0}, server_error={"burst": 1}, forced_error={"burst": 3})
    [client.get("/companies") for _ in range(5)]
    sandbox.set_faults(quota_exhausted=True)
    client.get("/companies")
    sandbox.reset_faults()
    httpx.get(f"{sandbox.url}/companies")  # no key
    after = _rejected(client)
    changed = {kind: after[kind] - before[kind] for kind in after if after[kind] != before[kind]}
    assert changed == {"rate_limit": 2, "server_error": 1, "forced_error": 3, "quota": 1, "unauthorised": 1}
    assert set(after) >= {"concurrency", "rate_limit", "quota", "server_error", "short_page"}


def test_concurrency_refusals_are_counted(sandbox: CodatSandbox) -> None:
    company = sandbox.connections[0][0]
    sandbox.set_faults(concurrency_limit=2, latency_ms=200)

    async def five_at_once() -> tuple[list[int], int]:
        headers = {"Authorization": sandbox.auth_header}
        async with httpx.AsyncClient(base_url=sandbox.url, headers=headers) as client:
            before = (await client.get("/_sandbox/state")).json()["counters"]["rejected"]["concurrency"]
            answers = await asyncio.gather(*(client.get(f"/companies/{company}") for _ in range(5)))
            after = (await client.get("/_sandbox/state")).json()["counters"]["rejected"]["concurrency"]
        return sorted(r.status_code for r in answers), after - before

    assert asyncio.run(five_at_once()) == ([200, 200, 429, 429, 429], 3)


def test_a_short_page_keeps_its_total_and_links(sandbox: CodatSandbox, client: httpx.Client) -> None:
    path = data_path(sandbox, "commerce-orders")
    whole = client.get(path, params={"page": 1, "pageSize": 5}).json()
    sandbox.set_faults(short_page={"burst": 1})
    short = client.get(path, params={"page": 1, "pageSize": 5}).json()
    assert short["results"] == whole["results"][:-1]
    assert (short["totalResults"], short["_links"]) == (whole["totalResults"], whole["_links"])
    assert _rejected(client)["short_page"] >= 1
