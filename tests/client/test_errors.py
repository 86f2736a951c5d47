"""Every error status becomes its typed error, whose message says where and never leaks secrets."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator

import httpx
import pytest

from airflow_provider_codat.client import ClientConfig, CodatClient
from airflow_provider_codat.client._errors import error_for
from airflow_provider_codat.exceptions import (
    CodatApiError,
    CodatAuthenticationError,
    CodatBadRequestError,
    CodatDataChangedError,
    CodatDatasetInProgressError,
    CodatDecodeError,
    CodatError,
    CodatForbiddenError,
    CodatNotFoundError,
    CodatNotSyncedError,
    CodatPaymentRequiredError,
    CodatRateLimitError,
    CodatRequestTimeoutError,
    CodatServerError,
    CodatTransportError,
)
from airflow_provider_codat.sandbox import CodatSandbox

from .conftest import WatchingTransport, config_for, fast_retry, list_path

SECRET_QUERY_VALUE = "Jane Secret-Customer"


@pytest.fixture
def client(sandbox: CodatSandbox) -> Iterator[CodatClient]:
    """A client that does not retry, so each error surfaces as Codat sent it."""
    with CodatClient(config_for(sandbox, retry=fast_retry(max_attempts=1))) as c:
        yield c


def assert_clean_message(error: BaseException, sb: CodatSandbox, method: str, path: str) -> None:
    """The message names method, path and correlation id; it holds no secret and no query string."""
    text = str(error)
    assert f"{method} {path}" in text
    if isinstance(error, CodatApiError):
        assert error.correlation_id and re.fullmatch(r"[0-9a-f]{32}", error.correlation_id)
        assert error.correlation_id in text
        assert error.method == method and error.path == path
    for secret in (sb.api_key, sb.auth_header, sb.auth_header.removeprefix("Basic ")):
        assert secret not in text
        assert secret not in repr(error)
    assert "?" not in text and "page=" not in text and "pageSize" not in text
    assert SECRET_QUERY_VALUE not in text and "Jane" not in text


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (400, CodatBadRequestError, False),
        (402, CodatPaymentRequiredError, False),
        (403, CodatForbiddenError, False),
        (404, CodatNotFoundError, False),
        (408, CodatRequestTimeoutError, True),
        (409, CodatNotSyncedError, False),
        (429, CodatRateLimitError, True),
        (500, CodatServerError, True),
        (502, CodatServerError, True),
        (503, CodatServerError, True),
        (418, CodatApiError, False),
    ],
)
def test_each_status_maps_to_its_class(
    sandbox: CodatSandbox, client: CodatClient, status: int, cls: type[CodatApiError], retryable: bool
) -> None:
    sandbox.set_faults(forced_error={"burst": 1}, forced_error_status=status)
    path = list_path(sandbox, "commerce-orders")
    with pytest.raises(CodatApiError) as caught:
        client.page(path, 1, 10, SECRET_QUERY_VALUE.join(["customerName=", ""]), None)
    error = caught.value
    assert type(error) is cls
    assert error.status == status
    assert error.retryable is retryable is type(error).retryable
    assert f"Codat answered {status}" in str(error)
    assert_clean_message(error, sandbox, "GET", path)


def test_retryable_flags_of_the_whole_tree() -> None:
    retryable = {
        CodatError: False,
        CodatTransportError: True,
        CodatDecodeError: True,
        CodatDataChangedError: True,
        CodatApiError: False,
        CodatBadRequestError: False,
        CodatDatasetInProgressError: False,
        CodatAuthenticationError: False,
        CodatPaymentRequiredError: False,
        CodatForbiddenError: False,
        CodatNotFoundError: False,
        CodatRequestTimeoutError: True,
        CodatNotSyncedError: False,
        CodatRateLimitError: True,
        CodatServerError: True,
    }
    assert {cls: cls.retryable for cls in retryable} == retryable


def test_wrong_key_is_401_and_never_echoed(sandbox: CodatSandbox) -> None:
    wrong = "wrong-key-0123456789"
    config = ClientConfig(api_key=wrong, base_url=sandbox.url, retry=fast_retry())
    wire = WatchingTransport()
    with CodatClient(config, transport=wire) as client, pytest.raises(CodatAuthenticationError) as caught:
        client.request("GET", "/companies", {"page": 1, "pageSize": 1})
    assert caught.value.status == 401 and not caught.value.retryable
    assert len(wire.requests) == 1  # not retried
    text = str(caught.value)
    assert "GET /companies" in text and caught.value.correlation_id in text
    for secret in (wrong, base64.b64encode(wrong.encode()).decode(), "page=1"):
        assert secret not in text


def test_unknown_company_is_404(sandbox: CodatSandbox, client: CodatClient) -> None:
    company = str(uuid.uuid4())
    with pytest.raises(CodatNotFoundError) as caught:
        client.get("/companies/{companyId}", companyId=company)
    assert company in caught.value.error
    assert_clean_message(caught.value, sandbox, "GET", f"/companies/{company}")


def test_unknown_record_is_404_with_its_encoded_path(sandbox: CodatSandbox, client: CodatClient) -> None:
    company, connection = sandbox.connections[0]
    template = "/companies/{companyId}/connections/{connectionId}/data/commerce-orders/{orderId}"
    with pytest.raises(CodatNotFoundError) as caught:
        client.get(template, companyId=company, connectionId=connection, orderId="no such/order")
    assert caught.value.path.endswith("/commerce-orders/no such/order")  # httpx gives the decoded path


def test_not_synced_is_409(sandbox: CodatSandbox, client: CodatClient) -> None:
    sandbox.set_faults(not_synced=["commerce-orders"])
    path = list_path(sandbox, "commerce-orders")
    with pytest.raises(CodatNotSyncedError) as caught:
        client.page(path, 1, 10, None, None)
    assert caught.value.status == 409 and "not been requested" in caught.value.error
    assert_clean_message(caught.value, sandbox, "GET", path)


@pytest.mark.parametrize(
    "query", [f"customerName={SECRET_QUERY_VALUE}", f"{{{{{SECRET_QUERY_VALUE}", "name=Jane&&"]
)
def test_bad_query_is_400_and_the_query_stays_out_of_the_message(
    sandbox: CodatSandbox, client: CodatClient, query: str
) -> None:
    path = list_path(sandbox, "commerce-orders")
    with pytest.raises(CodatBadRequestError) as caught:
        client.page(path, 1, 10, query, None)
    assert type(caught.value) is CodatBadRequestError
    assert caught.value.error.startswith("Error parsing query")
    assert_clean_message(caught.value, sandbox, "GET", path)


def test_dataset_already_in_progress(sandbox: CodatSandbox, client: CodatClient) -> None:
    sandbox.set_faults(sync_seconds=30)
    company, connection = sandbox.connections[1]
    path = f"/companies/{company}/data/queue/commerce-disputes"
    first = client.request("POST", path, {"connectionId": connection})
    assert first["status"] in ("Initial", "Queued")
    with pytest.raises(CodatDatasetInProgressError) as caught:
        client.request("POST", path, {"connectionId": connection})
    error = caught.value
    assert isinstance(error, CodatBadRequestError) and error.status == 400 and not error.retryable
    assert first["id"] in error.error
    assert_clean_message(error, sandbox, "POST", path)


def test_error_for_without_a_json_body_uses_the_reason_phrase(sandbox: CodatSandbox) -> None:
    response = httpx.get(f"{sandbox.url}/_sandbox/state")  # a real response, given a status it lacks
    fake = httpx.Response(502, content=b"<html>bad gateway</html>", request=response.request)
    error = error_for(fake)
    assert type(error) is CodatServerError and error.error == "Bad Gateway"
    assert error.correlation_id is None and "correlationId" not in str(error)


def test_long_error_texts_are_truncated(sandbox: CodatSandbox) -> None:
    request = httpx.Request("GET", f"{sandbox.url}/companies?secret=1")
    response = httpx.Response(400, json={"error": "x" * 5000, "correlationId": "c0ffee"}, request=request)
    error = error_for(response)
    assert len(error.error) == 500
    assert "secret" not in str(error) and "(correlationId c0ffee)" in str(error)


def test_transport_failures_name_method_and_path_only(sandbox: CodatSandbox) -> None:
    sandbox.set_faults(drop_connection={"every": 1})
    path = list_path(sandbox, "commerce-customers")
    with (
        CodatClient(config_for(sandbox, retry=fast_retry(max_attempts=2))) as client,
        pytest.raises(CodatTransportError) as caught,
    ):
        client.page(path, 1, 30, SECRET_QUERY_VALUE.join(["name=", ""]), None)
    assert type(caught.value) is CodatTransportError
    assert caught.value.method == "GET" and caught.value.path == path
    assert_clean_message(caught.value, sandbox, "GET", path)
