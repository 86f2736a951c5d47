"""Reading a ``codat`` Airflow Connection into a validated :class:`ClientConfig`."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from pydantic import ValidationError

from airflow_provider_codat.client import DEFAULT_BASE_URL, ClientConfig
from airflow_provider_codat.exceptions import CodatConnectionError

__all__ = ["EXTRA_FIELDS", "OLD_EXTRA_PREFIX", "config_from_connection"]

log = logging.getLogger(__name__)

_RETRY_FIELDS = ("max_attempts", "initial_wait", "max_wait", "max_total")
EXTRA_FIELDS = ("timeout", "page_size", "max_concurrency", *_RETRY_FIELDS)
"""The extras a ``codat`` connection may carry; any other key is refused by name."""
OLD_EXTRA_PREFIX = "extra__codat__"
"""Airflow 2's forms stored each extra as ``extra__codat__<field>``; such keys are read too."""


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

    :raises CodatConnectionError: Naming the connection and the field that is missing or invalid;
        never echoing the API key.
    """
    extra = _extra(conn)
    if not (conn.password or "").strip():
        raise CodatConnectionError(conn.conn_id, "the API key is empty")
    retry = {k: extra.pop(k) for k in _RETRY_FIELDS if k in extra}
    base_url, assumed = _base_url(conn)
    try:
        return ClientConfig(
            api_key=conn.password, base_url=base_url, scheme_assumed=assumed, retry=retry, **extra
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'] if p != 'retry') or 'connection'}: {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)
        )
    # Raised outside the handler, so that the ValidationError, which holds the input (perhaps a key
    # pasted into the wrong field), is not kept as this error's __context__.
    raise CodatConnectionError(conn.conn_id, problems)


def _extra(conn: ConnectionLike) -> dict[str, Any]:
    """The connection's non-empty extras by field name; ``extra__codat__<field>`` read as ``<field>``.

    A plain key wins over its prefixed twin, as in Airflow's own providers: the Airflow 3 form
    saves plain keys, and an old prefixed one may linger beside them.

    :raises CodatConnectionError: On an extra that is not a JSON object, or an unknown key.
    """
    raw = conn.extra_dejson or {}
    if not isinstance(raw, dict):
        raise CodatConnectionError(
            conn.conn_id,
            f"extra: must be a JSON object of the fields {', '.join(EXTRA_FIELDS)}; got {type(raw).__name__}",
        )
    given = {k: v for k, v in raw.items() if v not in (None, "")}
    unknown = sorted(k for k in given if k.removeprefix(OLD_EXTRA_PREFIX) not in EXTRA_FIELDS)
    if unknown:
        raise CodatConnectionError(
            conn.conn_id,
            f"unknown extra field(s) {', '.join(unknown)}; expected any of {', '.join(EXTRA_FIELDS)}",
        )
    extra = {k: v for k, v in given.items() if not k.startswith(OLD_EXTRA_PREFIX)}
    for key, value in given.items():
        field = key.removeprefix(OLD_EXTRA_PREFIX)
        if field == key:
            continue
        if field not in extra:
            extra[field] = value
        elif extra[field] != value:
            log.warning(
                "codat connection %r: extra %s and %s disagree; using %s (remove %s)",
                conn.conn_id,
                field,
                key,
                field,
                key,
            )
    return extra


def _base_url(conn: ConnectionLike) -> tuple[str, bool]:
    """The base URL from host, schema and port, and whether ``https://`` was assumed for it."""
    host = (conn.host or "").strip()
    if not host:
        return DEFAULT_BASE_URL, False
    assumed = False
    if "://" not in host:
        schema = (conn.schema or "").strip()
        assumed = not schema
        host = f"{schema or 'https'}://{host}"
    if conn.port and host.count(":") < 2:
        host = f"{host.rstrip('/')}:{conn.port}"
    return host, assumed
