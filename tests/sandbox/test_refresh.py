"""Data status and pull operations: queued refreshes advance with time, 409 until synced."""

from __future__ import annotations

import time

import httpx
import pytest

from airflow_provider_codat.sandbox import CodatSandbox

from .conftest import data_path


def wait_terminal(client: httpx.Client, company: str, op_id: str, timeout: float = 5.0) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        op = client.get(f"/companies/{company}/data/history/{op_id}").json()
        if not seen or seen[-1] != op["status"]:
            seen.append(op["status"])
        if op.get("completed") is not None:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"pull operation never finished: {seen}")


def test_refresh_moves_through_statuses_to_complete(sandbox: CodatSandbox, client: httpx.Client) -> None:
    sandbox.set_faults(sync_seconds=1.0)
    company, connection = sandbox.connections[0]
    op = client.post(
        f"/companies/{company}/data/queue/commerce-orders", params={"connectionId": connection}
    ).json()
    assert (
        op["status"] in ("Initial", "Queued") and op["connectionId"] == connection and not op["isCompleted"]
    )
    seen = wait_terminal(client, company, op["id"])
    assert seen[-1] == "Complete" and "Fetching" in seen and "Mapping" in seen
    final = client.get(f"/companies/{company}/data/history/{op['id']}").json()
    assert final["isCompleted"] and not final["isErrored"] and final["progress"] == 100
    status = client.get(f"/companies/{company}/dataStatus").json()["commerce-orders"]
    assert status["latestSyncId"] == status["latestSuccessfulSyncId"] == op["id"]
    assert status["currentStatus"] == "Complete"
    history = client.get(f"/companies/{company}/data/history").json()
    assert op["id"] in {o["id"] for o in history["results"]}


def test_queueing_a_running_type_is_refused_like_codat(sandbox: CodatSandbox, client: httpx.Client) -> None:
    sandbox.set_faults(sync_seconds=2.0)
    company, connection = sandbox.connections[0]
    first = client.post(
        f"/companies/{company}/data/queue/commerce-customers", params={"connectionId": connection}
    )
    second = client.post(
        f"/companies/{company}/data/queue/commerce-customers", params={"connectionId": connection}
    )
    assert second.status_code == 400
    assert second.json()["error"].startswith("DatasetAlreadyInProgressException")
    assert first.json()["id"] in second.json()["error"]


@pytest.mark.parametrize("outcome", ["FetchError", "AuthError", "NotSupported", "Cancelled"])
def test_forced_terminal_status(sandbox: CodatSandbox, client: httpx.Client, outcome: str) -> None:
    sandbox.set_faults(sync_seconds=0.2, pull_outcome={"commerce-payments": outcome})
    company = sandbox.company_ids[1]
    op = client.post(f"/companies/{company}/data/queue/commerce-payments").json()
    assert wait_terminal(client, company, op["id"])[-1] == outcome
    final = client.get(f"/companies/{company}/data/history/{op['id']}").json()
    assert final["isErrored"] and not final["isCompleted"] and final["errorMessage"]


def test_never_synced_type_is_409_until_refreshed(sandbox: CodatSandbox, client: httpx.Client) -> None:
    sandbox.set_faults(not_synced=["commerce-disputes"], sync_seconds=0.2)
    company, connection = sandbox.connections[2]
    path = data_path(sandbox, "commerce-disputes", which=2)
    conflict = client.get(path)
    assert conflict.status_code == 409 and conflict.json()["error"] == "The data set has not been requested."
    status = client.get(f"/companies/{company}/dataStatus").json()["commerce-disputes"]
    assert status["currentStatus"] == "Initial" and "lastSuccessfulSync" not in status
    op = client.post(
        f"/companies/{company}/data/queue/commerce-disputes", params={"connectionId": connection}
    )
    wait_terminal(client, company, op.json()["id"])
    assert client.get(path).status_code == 200


def test_refresh_input_errors(sandbox: CodatSandbox, client: httpx.Client) -> None:
    company = sandbox.company_ids[0]
    assert client.post(f"/companies/{company}/data/queue/commerce-nope").status_code == 400
    unknown = "00000000-0000-4000-8000-000000000000"
    assert (
        client.post(
            f"/companies/{company}/data/queue/commerce-orders", params={"connectionId": unknown}
        ).status_code
        == 404
    )
    assert client.get(f"/companies/{company}/data/history/{unknown}").status_code == 404
    assert client.get(f"/companies/{company}/data/queue/commerce-orders").status_code == 405


@pytest.mark.parametrize("name", ["orders", "company_info"])
def test_a_resource_name_is_not_a_data_type(sandbox: CodatSandbox, client: httpx.Client, name: str) -> None:
    company = sandbox.company_ids[0]
    response = client.post(f"/companies/{company}/data/queue/{name}")
    assert response.status_code == 400
    assert response.json()["validation"]["errors"][0]["itemId"] == "dataType"
    assert client.get(f"/companies/{company}/data/history", params={"pageSize": 5000}).json()[
        "totalResults"
    ] == len([op for op in sandbox.world.pull_operations.values() if op.company_id == company])


def test_each_connection_has_its_own_refresh_outcome_and_duration(
    sandbox: CodatSandbox, client: httpx.Client
) -> None:
    (company, x), (_, y) = sandbox.connections[:2]
    sandbox.set_faults(
        sync_seconds=5,
        pull_outcome={"commerce-products": "AuthError"},
        per_connection={
            x: {"sync_seconds": 0.2, "pull_outcome": {"*": "FetchError"}},
            y: {"sync_seconds": 0.4},
        },
    )
    client.post(f"/companies/{company}/data/queue/commerce-orders")
    client.post(f"/companies/{company}/data/queue/commerce-products", params={"connectionId": y})
    history = client.get(f"/companies/{company}/data/history", params={"pageSize": 5000}).json()
    ops = {
        (op["connectionId"], op["dataType"]): op["id"]
        for op in history["results"]
        if op["dataType"] in ("commerce-orders", "commerce-products") and "completed" not in op
    }
    assert set(ops) == {(x, "commerce-orders"), (y, "commerce-orders"), (y, "commerce-products")}
    started = time.monotonic()
    assert wait_terminal(client, company, ops[x, "commerce-orders"])[-1] == "FetchError"
    assert wait_terminal(client, company, ops[y, "commerce-orders"])[-1] == "Complete"
    assert wait_terminal(client, company, ops[y, "commerce-products"])[-1] == "AuthError"
    assert time.monotonic() - started < 2


def test_the_pull_history_is_filtered_and_ordered_like_codat(
    sandbox: CodatSandbox, client: httpx.Client
) -> None:
    (company, x), (_, y) = sandbox.connections[:2]
    sandbox.set_faults(sync_seconds=0.05)
    ids = []
    for connection in (x, y, x):
        reply = client.post(
            f"/companies/{company}/data/queue/commerce-taxComponents", params={"connectionId": connection}
        )
        ids.append(reply.json()["id"])
        wait_terminal(client, company, ids[-1])
    path = f"/companies/{company}/data/history"
    mine = client.get(
        path,
        params={"query": f"dataType=commerce-taxComponents&&connectionId={x}", "orderBy": "-requested"},
    ).json()
    assert [op["id"] for op in mine["results"]] == [ids[2], ids[0]] and mine["totalResults"] == 2
    running = client.get(path, params={"query": "dataType=commerce-taxComponents&&status=Fetching"}).json()
    assert running["results"] == []
    unknown = client.get(path, params={"query": "isCompleted=true"})
    assert unknown.status_code == 400
    assert (
        unknown.json()["error"] == "Error parsing query - Could not resolve property isCompleted on Dataset"
    )
