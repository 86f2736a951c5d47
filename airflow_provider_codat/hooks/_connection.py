"""Reading a ``codat`` Airflow Connection into a validated :class:`ClientConfig`."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import ValidationError

from airflow_provider_codat.client._config import DEFAULT_BASE_URL, ClientConfig
from airflow_provider_codat.exceptions import CodatConfigError

__all__ = ["EXTRA_FIELDS", "config_from_connection"]

_RETRY_FIELDS = ("max_attempts", "initial_wait", "max_wait", "max_total")
EXTRA_FIELDS = ("timeout", "page_size", "max_concurrency", *_RETRY_FIELDS)
"""The extras a ``codat`` connection may carry; any other key is refused by name."""


class ConnectionLike(Protocol):
    """The parts of an Airflow Connection this module reads."""

    conn_id: str
    host: str | None
    schema: str | None
    port: int | None
    password: str | None

    @property
    def extra_dejson(self) -> dict[str, Any]: ...


def config_from_connection(conn: ConnectionLike) -> ClientConfig:
    """Build the client settings from ``conn``.

    :raises CodatConfigError: Naming the connection and the field that is missing or invalid;
        never echoing the API key.
    """
    raw_extra = conn.extra_dejson or {}
    if not isinstance(raw_extra, dict):
        raise CodatConfigError(
            f"codat connection {conn.conn_id!r}: extra: must be a JSON object of the fields "
            f"{', '.join(EXTRA_FIELDS)}; got {type(raw_extra).__name__}"
        )
    extra = {k: v for k, v in raw_extra.items() if v not in (None, "")}
    unknown = sorted(set(extra) - set(EXTRA_FIELDS))
    if unknown:
        raise CodatConfigError(
            f"codat connection {conn.conn_id!r}: unknown extra field(s) {', '.join(unknown)}; "
            f"expected any of {', '.join(EXTRA_FIELDS)}"
        )
    if not (conn.password or "").strip():
        raise CodatConfigError(f"codat connection {conn.conn_id!r}: the API key (password field) is empty")
    retry = {k: extra.pop(k) for k in _RETRY_FIELDS if k in extra}
    try:
        return ClientConfig(api_key=conn.password, base_url=_base_url(conn), retry=retry, **extra)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'] if p != 'retry') or 'connection'}: {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)
        )
    # Raised outside the handler, so that the ValidationError, which holds the input (perhaps a key
    # pasted into the wrong field), is not kept as this error's __context__.
    raise CodatConfigError(f"codat connection {conn.conn_id!r}: {problems}")


def _base_url(conn: ConnectionLike) -> str:
    host = (conn.host or "").strip()
    if not host:
        return DEFAULT_BASE_URL
    if "://" not in host:
        host = f"{(conn.schema or 'https').strip()}://{host}"
    if conn.port and host.count(":") < 2:
        host = f"{host.rstrip('/')}:{conn.port}"
    return host
