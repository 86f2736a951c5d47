"""``config_from_connection``: JSON and URI connections, both key forms, and refusals that name the field."""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import quote

import pytest
from airflow.sdk import BaseHook, Connection

from airflow_provider_codat.client import DEFAULT_BASE_URL
from airflow_provider_codat.exceptions import CodatConfigError
from airflow_provider_codat.hooks._connection import EXTRA_FIELDS, config_from_connection
from airflow_provider_codat.hooks.commerce import CodatCommerceHook
from airflow_provider_codat.sandbox import CodatSandbox
from tests.commerce_fixtures import connection_json

SECRET = "sk-live-TOPSECRET-8f2a"
SECRET_B64 = base64.b64encode(SECRET.encode()).decode()


def host_port(sb: CodatSandbox) -> tuple[str, int]:
    host, port = sb.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def from_env(monkeypatch: pytest.MonkeyPatch, value: str, conn_id: str = "codat_test") -> Connection:
    """Resolve a connection the way a task does: from ``AIRFLOW_CONN_<ID>``."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", value)
    return BaseHook.get_connection(conn_id)


def conn(password: str | None = SECRET, **fields: object) -> Connection:
    extra = fields.pop("extra", None)
    return Connection(
        conn_id="codat_test",
        conn_type="codat",
        password=password,
        extra=json.dumps(extra) if extra is not None else None,
        **fields,  # type: ignore[arg-type]
    )


def assert_no_secret(text: str) -> None:
    assert SECRET not in text and SECRET_B64 not in text and f"Basic {SECRET_B64}" not in text


def chain_text(error: BaseException) -> str:
    """``str``, ``repr`` and ``args`` of ``error`` and of every exception reachable from it."""
    texts, seen, todo = [], set(), [error]
    while todo:
        exc = todo.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        texts.append(f"{exc!s} {exc!r} {exc.args!r}")
        todo += [exc.__cause__, exc.__context__]
    return "\n".join(texts)


# --- JSON and URI connections --------------------------------------------------------------------------


def test_connection_json_with_extras(sandbox: CodatSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    value = connection_json(sandbox, page_size=250, max_concurrency=3, timeout=12.5, max_attempts=4)
    config = config_from_connection(from_env(monkeypatch, value))
    assert config.base_url == sandbox.url
    assert config.api_key.get_secret_value() == sandbox.api_key
    assert (config.page_size, config.max_concurrency, config.timeout) == (250, 3, 12.5)
    assert (config.retry.max_attempts, config.retry.initial_wait, config.retry.max_wait) == (4, 0.01, 1)
    assert config.retry.multiplier == 1.5  # not a connection field: the default stays


@pytest.mark.parametrize(
    "uri",
    [
        "codat://:{key}@{host}:{port}/http?page_size=7&max_concurrency=2&initial_wait=0.01",
        "codat://:{key}@{url_encoded}?page_size=7&max_concurrency=2&initial_wait=0.01",
        "codat://:{key}@{host}:{port}/http?__extra__={extra_json}",
    ],
    ids=["schema-as-scheme", "percent-encoded-url", "__extra__"],
)
def test_uri_connections_reach_the_sandbox(
    sandbox: CodatSandbox, monkeypatch: pytest.MonkeyPatch, uri: str
) -> None:
    host, port = host_port(sandbox)
    value = uri.format(
        key=quote(sandbox.api_key, safe=""),
        host=host,
        port=port,
        url_encoded=quote(sandbox.url, safe=""),
        extra_json=quote(json.dumps({"page_size": 7, "max_concurrency": 2, "initial_wait": 0.01}), safe=""),
    )
    config = config_from_connection(from_env(monkeypatch, value))
    assert config.base_url == sandbox.url
    assert (config.page_size, config.max_concurrency, config.retry.initial_wait) == (7, 2, 0.01)
    hook = CodatCommerceHook("codat_test")
    assert hook.test_connection()[0] is True


@pytest.mark.parametrize(
    ("fields", "base_url"),
    [
        ({}, DEFAULT_BASE_URL),
        ({"host": "api.codat.io"}, "https://api.codat.io"),
        ({"host": "https://api.codat.io/"}, "https://api.codat.io"),
        ({"host": "codat.internal", "port": 8443}, "https://codat.internal:8443"),
        ({"host": "codat.internal", "schema": "http", "port": 80}, "http://codat.internal:80"),
        ({"host": "http://codat.internal", "port": 8080}, "http://codat.internal:8080"),
        ({"host": "http://codat.internal:9000", "port": 8080}, "http://codat.internal:9000"),
        ({"host": "  http://codat.internal:9000/  "}, "http://codat.internal:9000"),
    ],
)
def test_host_schema_and_port_make_the_base_url(fields: dict[str, object], base_url: str) -> None:
    assert config_from_connection(conn(**fields)).base_url == base_url


def test_uri_host_without_schema_is_https(monkeypatch: pytest.MonkeyPatch) -> None:
    config = config_from_connection(from_env(monkeypatch, f"codat://:{SECRET}@codat.example:8443"))
    assert config.base_url == "https://codat.example:8443" and config.scheme_assumed


@pytest.mark.parametrize(
    ("fields", "assumed"),
    [
        ({}, False),
        ({"host": "codat.internal:8443"}, True),
        ({"host": "codat.internal", "port": 8443}, True),
        ({"host": "codat.internal", "schema": "https"}, False),
        ({"host": "codat.internal", "schema": "http"}, False),
        ({"host": "https://codat.internal"}, False),
    ],
)
def test_an_assumed_https_is_recorded(fields: dict[str, object], assumed: bool) -> None:
    assert config_from_connection(conn(**fields)).scheme_assumed is assumed


# --- Airflow 2's extra__codat__<field> keys ----------------------------------------------------------


def test_old_style_extras_are_read(sandbox: CodatSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    old = {
        f"extra__codat__{k}": v for k, v in {"page_size": 7, "max_concurrency": 2, "max_attempts": 3}.items()
    }
    value = json.dumps({"conn_type": "codat", "host": sandbox.url, "password": sandbox.api_key, "extra": old})
    config = config_from_connection(from_env(monkeypatch, value))
    assert (config.page_size, config.max_concurrency, config.retry.max_attempts) == (7, 2, 3)
    host, port = host_port(sandbox)
    uri = f"codat://:{sandbox.api_key}@{host}:{port}/http?extra__codat__page_size=9&timeout=5"
    config = config_from_connection(from_env(monkeypatch, uri))
    assert (config.page_size, config.timeout) == (9, 5)
    assert CodatCommerceHook("codat_test").test_connection()[0] is True


def test_a_plain_extra_wins_over_its_old_style_twin(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="airflow_provider_codat")
    same = config_from_connection(conn(extra={"page_size": 7, "extra__codat__page_size": 7}))
    assert same.page_size == 7 and not caplog.records
    config = config_from_connection(
        conn(extra={"page_size": 7, "extra__codat__page_size": 3, "extra__codat__timeout": 12})
    )
    assert (config.page_size, config.timeout) == (7, 12)
    (warning,) = caplog.records
    assert warning.getMessage() == (
        "codat connection 'codat_test': extra page_size and extra__codat__page_size disagree; "
        "using page_size (remove extra__codat__page_size)"
    )


def test_an_empty_old_style_extra_is_ignored() -> None:
    """Airflow 2's form saved an empty string for each field left blank."""
    config = config_from_connection(conn(extra={"extra__codat__timeout": "", "extra__codat__page_size": 7}))
    assert (config.timeout, config.page_size) == (30.0, 7)


@pytest.mark.parametrize("key", ["extra__codat__page_sise", "extra__http__page_size", "extra__codat__"])
def test_an_unknown_old_style_extra_is_refused_by_name(key: str) -> None:
    with pytest.raises(CodatConfigError, match=f"unknown extra field\\(s\\) {key};"):
        config_from_connection(conn(extra={key: 7}))


def test_a_bad_old_style_extra_is_refused_naming_the_field() -> None:
    with pytest.raises(CodatConfigError, match="'codat_test': page_size: "):
        config_from_connection(conn(extra={"extra__codat__page_size": 2.5}))


# --- the key: raw or a whole Basic header -----------------------------------------------------------------


@pytest.mark.parametrize("form", ["raw", "header"])
@pytest.mark.parametrize("style", ["json", "uri"])
def test_raw_key_and_basic_header_both_work(
    sandbox: CodatSandbox, monkeypatch: pytest.MonkeyPatch, form: str, style: str
) -> None:
    password = sandbox.api_key if form == "raw" else sandbox.auth_header
    if style == "json":
        value = connection_json(sandbox, password=password)
    else:
        host, port = host_port(sandbox)
        value = f"codat://:{quote(password, safe='')}@{host}:{port}/http?initial_wait=0.01"
    config = config_from_connection(from_env(monkeypatch, value))
    assert config.authorization.get_secret_value() == sandbox.auth_header
    ok, message = CodatCommerceHook("codat_test").test_connection()
    assert ok, message


def test_a_key_is_base64_encoded_without_a_colon() -> None:
    config = config_from_connection(conn())
    assert config.authorization.get_secret_value() == f"Basic {SECRET_B64}"
    assert config_from_connection(conn(password=f"  {SECRET}  ")).authorization.get_secret_value() == (
        f"Basic {SECRET_B64}"
    )


# --- refusals --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["page_sise", "headers", "Authorization", "api_key", "base_url"])
def test_unknown_extra_is_refused_by_name(key: str) -> None:
    with pytest.raises(CodatConfigError) as caught:
        config_from_connection(conn(extra={"page_size": 10, key: SECRET}))
    text = str(caught.value)
    assert f"unknown extra field(s) {key}" in text and "'codat_test'" in text
    assert all(field in text for field in EXTRA_FIELDS)
    assert_no_secret(text)


def test_empty_extras_are_ignored() -> None:
    config = config_from_connection(conn(extra={"page_size": None, "timeout": "", "max_wait": 5}))
    assert (config.page_size, config.timeout, config.retry.max_wait) == (5000, 30.0, 5)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"page_size": 0}, "page_size"),
        ({"page_size": 5001}, "page_size"),
        ({"page_size": "many"}, "page_size"),
        ({"page_size": 2.5}, "page_size"),
        ({"max_concurrency": 11}, "max_concurrency"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -3}, "timeout"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": 101}, "max_attempts"),
        ({"initial_wait": -1}, "initial_wait"),
        ({"max_wait": 3601}, "max_wait"),
        ({"max_total": 0}, "max_total"),
    ],
)
def test_bad_extras_are_refused_naming_the_field(extra: dict[str, object], field: str) -> None:
    with pytest.raises(CodatConfigError) as caught:
        config_from_connection(conn(extra=extra))
    assert isinstance(caught.value, ValueError)
    text = str(caught.value)
    assert f"{field}:" in text and "'codat_test'" in text
    assert "retry" not in text.split(":", 1)[1]  # the nested model stays an implementation detail
    assert_no_secret(text)


@pytest.mark.parametrize("password", [None, "", "   ", "Basic", "Basic  "])
def test_an_empty_key_is_refused(password: str | None) -> None:
    with pytest.raises(CodatConfigError, match=r"API key|api_key") as caught:
        config_from_connection(conn(password=password))
    assert "'codat_test'" in str(caught.value)


def test_a_bad_base_url_is_refused_without_the_key() -> None:
    with pytest.raises(CodatConfigError, match="base_url") as caught:
        config_from_connection(conn(host="ftp://codat.example"))
    assert_no_secret(str(caught.value))


def test_no_error_of_a_bad_connection_shows_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    cases = [
        conn(extra={"page_size": SECRET}),
        conn(extra={"timeout": {"key": SECRET}}),
        conn(host="ftp://x", extra={"max_concurrency": 99}),
        from_env(monkeypatch, f"codat://:{SECRET}@h/http?max_wait=never&page_size={SECRET}"),
    ]
    texts = []
    for case in cases:
        with pytest.raises(CodatConfigError) as caught:
            config_from_connection(case)
        texts.append(f"{caught.value} {caught.value!r} {caught.value.__cause__!r}")
    for text in texts:
        assert_no_secret(text)


@pytest.mark.parametrize("extra", [[SECRET], SECRET, 42], ids=["list", "string", "number"])
def test_an_extra_that_is_not_a_json_object_is_refused_by_name(extra: object) -> None:
    with pytest.raises(CodatConfigError) as caught:
        config_from_connection(conn(extra=extra))
    text = str(caught.value)
    assert text.startswith("codat connection 'codat_test': extra: must be a JSON object")
    assert_no_secret(chain_text(caught.value))


@pytest.mark.parametrize(
    "host",
    ["http://a b", "https://codat example.com", "http://a\tb", "http://", "http://a:port", "http://a:99999"],
)
def test_a_host_that_is_no_url_is_refused_before_any_request(
    monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    with pytest.raises(CodatConfigError, match="'codat_test': base_url: ") as caught:
        config_from_connection(conn(host=host))
    assert_no_secret(chain_text(caught.value))
    value = json.dumps({"conn_type": "codat", "host": host, "password": SECRET, "extra": {"max_attempts": 1}})
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_TEST", value)
    with pytest.raises(CodatConfigError, match="base_url: "):
        CodatCommerceHook("codat_test").get_company("3f2504e0-4f89-41d3-9a0c-0305e82c3301")


@pytest.mark.parametrize(
    "header",
    [f"Basic {SECRET_B64}\u00e9", f"Basic {SECRET_B64}\r\nX-Forwarded-For: 1", f"Basic {SECRET_B64}\x00"],
    ids=["non-ASCII", "line break", "NUL"],
)
def test_a_basic_header_that_cannot_be_sent_is_refused_naming_the_field_not_the_key(
    monkeypatch: pytest.MonkeyPatch, header: str
) -> None:
    with pytest.raises(CodatConfigError, match="'codat_test': api_key: ") as caught:
        config_from_connection(conn(password=header))
    assert_no_secret(chain_text(caught.value))
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_TEST", json.dumps({"conn_type": "codat", "password": header}))
    with pytest.raises(CodatConfigError, match="api_key: ") as caught:
        CodatCommerceHook("codat_test").get_company("3f2504e0-4f89-41d3-9a0c-0305e82c3301")
    assert_no_secret(chain_text(caught.value))


def test_a_refused_extra_keeps_no_input_anywhere_in_the_exception() -> None:
    for extra in ({"page_size": SECRET}, {"timeout": {"key": SECRET}}, {"max_wait": [SECRET]}):
        with pytest.raises(CodatConfigError) as caught:
            config_from_connection(conn(extra=extra))
        assert caught.value.__context__ is None and caught.value.__cause__ is None
        assert_no_secret(chain_text(caught.value))
