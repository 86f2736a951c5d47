"""The sandbox's state: companies, connections, their datasets, data status and pull operations.

Everything here is plain Python with no HTTP in it, so tests and the server share one model of
what Codat holds. Time comes from an injectable ``clock`` (epoch seconds) so tests can move it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from airflow_provider_codat.resources import RESOURCES, Resource
from airflow_provider_codat.sandbox._random import stable_hash, uuid_for
from airflow_provider_codat.sandbox.config import PULL_OUTCOMES, SandboxConfig
from airflow_provider_codat.sandbox.dataset import Dataset
from airflow_provider_codat.sandbox.generators import PLATFORMS, ConnectionData, Platform

__all__ = ["Company", "Connection", "PullOperation", "World"]

_COMPANY_NAMES = ("Acme Coffee", "Northwind Traders", "Globex Outfitters", "Initech Books", "Umbrella Bikes")
_PROGRESS = (  # (fraction of the sync time elapsed, status, progress)
    (0.05, "Queued", 0),
    (0.4, "Fetching", 20),
    (0.6, "MapQueued", 50),
    (0.95, "Mapping", 70),
)
_ERROR_STATUSES = frozenset(PULL_OUTCOMES) - {"Complete"}


def iso(ts: float) -> str:
    """Format epoch seconds as Codat's UTC datetime with milliseconds."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Connection:
    """A data connection of a company."""

    id: str
    company_id: str
    platform: Platform
    source_type: str
    status: str
    created: float
    datasets: dict[str, Dataset] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Render as Codat's Connection schema."""
        return {
            "id": self.id,
            "integrationId": uuid_for(stable_hash(self.platform.key)),
            "integrationKey": self.platform.key,
            "sourceId": uuid_for(stable_hash(self.platform.name)),
            "sourceType": self.source_type,
            "platformName": self.platform.name,
            "linkUrl": f"https://link-api.codat.io/companies/{self.company_id}/connections/{self.id}/start",
            "status": self.status,
            "lastSync": iso(self.created + 3600),
            "created": iso(self.created),
            "dataConnectionErrors": [],
            "connectionInfo": {},
        }


@dataclass
class Company:
    """A Codat company and its connections."""

    id: str
    name: str
    created: float
    connections: dict[str, Connection] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Render as Codat's Company schema, connections embedded."""
        return {
            "id": self.id,
            "name": self.name,
            "description": "Seeded by the Codat sandbox",
            "redirect": f"https://link.codat.io/company/{self.id}",
            "lastSync": iso(self.created + 3600),
            "created": iso(self.created),
            "createdByUserName": "sandbox",
            "products": ["commerce"],
            "tags": {},
            "referenceParentCompany": None,
            "referenceSubsidiaryCompanies": [],
            "dataConnections": [c.to_json() for c in self.connections.values()],
        }


@dataclass
class PullOperation:
    """A queued refresh of one data type on one connection, advancing with time."""

    id: str
    company_id: str
    connection_id: str
    data_type: str
    requested: float
    duration: float
    outcome: str

    def status_at(self, now: float) -> tuple[str, int]:
        """Return ``(status, progress)`` at time ``now``."""
        elapsed = (now - self.requested) / self.duration if self.duration > 0 else 1.0
        for fraction, status, progress in _PROGRESS:
            if elapsed < fraction:
                return status, progress
        return self.outcome, 100

    def finished_at(self) -> float:
        """When the operation reaches its terminal status."""
        return self.requested + self.duration * _PROGRESS[-1][0]

    def is_running(self, now: float) -> bool:
        """Whether the operation has not reached a terminal status yet."""
        return now < self.finished_at()

    def to_json(self, now: float) -> dict[str, Any]:
        """Render as Codat's PullOperation schema."""
        status, progress = self.status_at(now)
        done = not self.is_running(now)
        errored = done and status in _ERROR_STATUSES
        out: dict[str, Any] = {
            "id": self.id,
            "companyId": self.company_id,
            "connectionId": self.connection_id,
            "dataType": self.data_type,
            "status": status,
            "statusDescription": None,
            "errorMessage": f"Sandbox forced {status}" if errored else None,
            "requested": iso(self.requested),
            "completed": iso(self.finished_at()) if done else None,
            "progress": progress,
            "isCompleted": done and status == "Complete",
            "isErrored": errored,
        }
        if not done:  # the spec's ``completed`` is a DateTime, not nullable: absent while running
            del out["completed"]
        return out


class World:
    """Everything the sandbox holds, built deterministically from a :class:`SandboxConfig`."""

    def __init__(self, config: SandboxConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.started = clock()
        self.lock = threading.RLock()
        self.companies: dict[str, Company] = {}
        self.pull_operations: dict[str, PullOperation] = {}
        self._synced: dict[tuple[str, str], str] = {}  # (company, data type) -> last successful op id
        self._payout_interval = config.faults.payout_interval_s
        self._payout_origin = self.started
        self._payouts_due = 0
        self._build()
        config.faults.validate(self.commerce_connection_ids())

    def _build(self) -> None:
        cfg = self.config
        created = cfg.anchor.timestamp() - cfg.history.total_seconds() - 86400
        commerce: list[Connection] = []
        for ci in range(cfg.companies):
            name = f"{_COMPANY_NAMES[ci % len(_COMPANY_NAMES)]} {ci + 1}"
            company = Company(uuid_for(cfg.seed, 1, ci), name, created)
            self.companies[company.id] = company
            for k in range(cfg.connections):
                platform = PLATFORMS[(ci + k) % len(PLATFORMS)]
                conn = Connection(
                    uuid_for(cfg.seed, 2, ci, k), company.id, platform, "Commerce", "Linked", created
                )
                counts = {r.name: cfg.count_for(r.name) for r in RESOURCES}
                ctx = ConnectionData(
                    cfg.seed, company.id, conn.id, name, platform, counts, cfg.anchor, cfg.quirks
                )
                for r in RESOURCES:
                    conn.datasets[r.name] = Dataset(r, ctx, base_count=counts[r.name], history=cfg.history)
                company.connections[conn.id] = conn
                commerce.append(conn)
            xero = Platform("Xero", "gbol", "GBP", "GB")
            accounting = Connection(
                uuid_for(cfg.seed, 3, ci), company.id, xero, "Accounting", "Linked", created
            )
            company.connections[accounting.id] = accounting
        for conn in commerce[len(commerce) - min(cfg.unlinked_connections, len(commerce)) :]:
            conn.status = "Unlinked"

    # -- ids ----------------------------------------------------------------------------------
    def commerce_connections(self) -> list[Connection]:
        """Every commerce connection, in company then connection order."""
        return [c for co in self.companies.values() for c in co.connections.values() if c.datasets]

    def commerce_connection_ids(self) -> set[str]:
        """The ids of every commerce connection."""
        return {c.id for c in self.commerce_connections()}

    # -- time-driven changes ------------------------------------------------------------------
    def update_faults(self, changes: dict[str, Any]) -> None:
        """Change the fault configuration now (see :meth:`FaultConfig.update`)."""
        self.config.faults.update(changes, self.commerce_connection_ids())
        self.advance()

    def advance(self) -> None:
        """Apply what time has brought: payouts that arrived since the last request."""
        interval = self.config.faults.payout_interval_s
        now = self.clock()
        with self.lock:
            if interval != self._payout_interval:  # switched on or changed: count from now
                self._payout_interval, self._payout_origin, self._payouts_due = interval, now, 0
            if interval <= 0:
                return
            due = int((now - self._payout_origin) / interval)
            if due <= self._payouts_due:
                return
            for n in range(self._payouts_due + 1, due + 1):
                when = int(self._payout_origin + n * interval)
                for conn in self.commerce_connections():
                    conn.datasets["transactions"].append(when)
            self._payouts_due = due

    # -- data status and refreshes ------------------------------------------------------------
    def is_synced(self, company_id: str, data_type: str) -> bool:
        """Whether the data type has been synced for the company (else the API answers 409)."""
        if data_type not in self.config.faults.not_synced:
            return True
        return (company_id, data_type) in self._synced

    def queue_refresh(self, company: Company, data_type: str, connection_id: str | None) -> PullOperation:
        """Queue a refresh of ``data_type``; see :class:`RefreshInProgress`."""
        now = self.clock()
        targets = (
            [connection_id] if connection_id else [c.id for c in company.connections.values() if c.datasets]
        )
        faults = self.config.faults
        with self.lock:
            for op in self.pull_operations.values():
                if (
                    op.company_id == company.id
                    and op.data_type == data_type
                    and op.connection_id in targets
                    and op.is_running(now)
                ):
                    raise RefreshInProgress(op)
            ops = [
                PullOperation(
                    str(uuid.uuid4()),
                    company.id,
                    target,
                    data_type,
                    now,
                    *faults.refresh_of(target, data_type),
                )
                for target in targets
            ]
            for op in ops:
                self.pull_operations[op.id] = op
        return ops[0]

    def settle(self) -> None:
        """Mark data types synced whose pull operations completed successfully."""
        now = self.clock()
        with self.lock:
            for op in self.pull_operations.values():
                if not op.is_running(now) and op.outcome == "Complete":
                    self._synced[(op.company_id, op.data_type)] = op.id

    def data_status(self, company: Company) -> dict[str, Any]:
        """Render the company's ``dataStatus`` map for the commerce data types."""
        self.settle()
        now = self.clock()
        out: dict[str, Any] = {}
        for r in RESOURCES:
            ops = sorted(
                (
                    op
                    for op in self.pull_operations.values()
                    if op.company_id == company.id and op.data_type == r.data_type
                ),
                key=lambda op: op.requested,
            )
            entry: dict[str, Any] = {"dataType": r.data_type}
            succeeded = self._synced.get((company.id, r.data_type))
            if ops:
                entry["currentStatus"] = ops[-1].status_at(now)[0]
                entry["latestSyncId"] = ops[-1].id
            elif self.is_synced(company.id, r.data_type):
                entry["currentStatus"] = "Complete"
            else:
                entry["currentStatus"] = "Initial"
            if succeeded:
                op = self.pull_operations[succeeded]
                entry["lastSuccessfulSync"] = iso(op.finished_at())
                entry["latestSuccessfulSyncId"] = succeeded
            elif self.is_synced(company.id, r.data_type):
                entry["lastSuccessfulSync"] = iso(company.created + 3600)
            out[r.data_type] = entry
        return out

    def resource_dataset(self, company_id: str, connection_id: str, resource: Resource) -> Dataset | None:
        """Return the dataset, or None if the company or connection has none."""
        company = self.companies.get(company_id)
        conn = company.connections.get(connection_id) if company else None
        return conn.datasets.get(resource.name) if conn else None


class RefreshInProgress(Exception):
    """A refresh of the same data type is already running (Codat's DatasetAlreadyInProgress)."""

    def __init__(self, operation: PullOperation) -> None:
        super().__init__(operation.id)
        self.operation = operation
