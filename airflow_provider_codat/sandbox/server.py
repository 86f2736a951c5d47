"""Run the sandbox in a background thread: ``with CodatSandbox() as sandbox: ...``.

Importing this module without the ``sandbox`` extra raises
:class:`~airflow_provider_codat.sandbox._extra.SandboxExtraMissing`.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Mapping
from dataclasses import replace
from types import TracebackType
from typing import Any

from airflow_provider_codat.sandbox._extra import sandbox_extra
from airflow_provider_codat.sandbox.config import SandboxConfig
from airflow_provider_codat.sandbox.world import World

with sandbox_extra():
    import uvicorn

    from airflow_provider_codat.sandbox.app import create_app

__all__ = ["CodatSandbox"]

_START_TIMEOUT_S = 30.0


class CodatSandbox:
    """A local Codat API served by uvicorn on a background thread.

    :param config: The world to serve; keyword ``overrides`` replace its fields.
    :param host: Interface to bind.
    :param port: Port to bind; 0 picks a free one (read it back from :attr:`url`).
    """

    def __init__(
        self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0, **overrides: Any
    ) -> None:
        self.config = replace(config or SandboxConfig(), **overrides)
        self.host = host
        self._port = port
        self.world = World(self.config)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"CodatSandbox(url={self.url if self._server else None!r})"

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> CodatSandbox:
        """Bind, start serving, and return once the server accepts connections."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._port))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(self.world),
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="codat-sandbox", daemon=True
        )
        self._thread.start()
        deadline = threading.Event()
        for _ in range(int(_START_TIMEOUT_S / 0.01)):
            if self._server.started or not self._thread.is_alive():
                break
            deadline.wait(0.01)
        if not self._server.started:
            self.stop()
            raise RuntimeError(f"Codat sandbox did not start on {self.host}:{self._port}")
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to finish."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> CodatSandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what clients need --------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL of the API, e.g. ``http://127.0.0.1:50123``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    @property
    def api_key(self) -> str:
        """The API key the sandbox accepts."""
        return self.config.api_key

    @property
    def auth_header(self) -> str:
        """The ``Authorization`` header value for :attr:`api_key`."""
        return "Basic " + base64.b64encode(self.api_key.encode()).decode()

    @property
    def company_ids(self) -> list[str]:
        """Ids of every company, in order."""
        return list(self.world.companies)

    @property
    def connections(self) -> list[tuple[str, str]]:
        """``(company_id, connection_id)`` of every commerce connection, in order."""
        return [(c.company_id, c.id) for c in self.world.commerce_connections()]

    @property
    def connection_ids(self) -> list[str]:
        """Ids of every commerce connection, in order."""
        return [conn for _, conn in self.connections]

    def airflow_connection(
        self, conn_type: str = "codat", *, password: str | None = None, extra: Mapping[str, Any] | None = None
    ) -> str:
        """A JSON Airflow connection pointing at this sandbox, for ``AIRFLOW_CONN_<ID>``.

        :param password: The API key to send (default: the sandbox's own).
        :param extra: Connection extras, e.g. ``FAST_RETRIES`` to keep per-call retries short.
        """
        conn: dict[str, Any] = {
            "conn_type": conn_type,
            "host": self.url,
            "password": self.api_key if password is None else password,
        }
        if extra:
            conn["extra"] = dict(extra)
        return json.dumps(conn)

    def counters(self) -> dict[str, Any]:
        """The request counters of ``GET /_sandbox/state``: ``requests_today``, ``rejected`` by kind, ..."""
        import httpx

        counters: dict[str, Any] = httpx.get(f"{self.url}/_sandbox/state").json()["counters"]
        return counters

    def requests_today(self) -> int:
        """How many authenticated API requests the sandbox has answered (its daily-quota count)."""
        return int(self.counters()["requests_today"])

    # -- scripting faults and data ------------------------------------------------------------
    def set_faults(self, **changes: Any) -> None:
        """Change faults while running (same names as ``PATCH /_sandbox/faults``)."""
        self.world.update_faults(changes)

    def reset_faults(self) -> None:
        """Turn every fault off."""
        from airflow_provider_codat.sandbox.config import FaultConfig

        self.world.update_faults(FaultConfig().to_json())

    def add_payouts(self, connection_id: str, count: int = 1) -> list[str]:
        """Append ``count`` Payout transactions stamped now; return their ids."""
        conn = next(c for c in self.world.commerce_connections() if c.id == connection_id)
        return conn.datasets["transactions"].append(int(self.world.clock()), count)
