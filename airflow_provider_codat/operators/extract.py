"""``CodatExtractOperator``: several resources of a batch of connections in one task.

One task, one event loop, one async client. Every pull of one company shares one window of
that company's requests (at most ``max_in_flight_per_company``, Codat allowing 10), so the
pulls of one batch never crowd each other into 429s; ``max_in_flight`` bounds the requests
across companies, and with them the pages held in memory.

Each (connection, resource) pair lands as the list operators land one: parts and a
``_manifest.json`` in ``{output}/{resource}/company={company_id}/connection={connection_id}/``.
The manifest records the run and the window, so a retry of the task (on any worker) skips the
pairs that already landed and pulls only the rest. ``{output}/_summary.json`` (for a mapped task,
``_summary-{map_index}.json``) lists every pair's outcome; the task returns only totals.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from airflow_provider_codat._logs import counted
from airflow_provider_codat.arguments import (
    MAX_IN_FLIGHT_PER_COMPANY,
    MAX_PAGE_SIZE,
    check_choice,
    check_whole,
    is_runtime_value,
    listable_names,
)
from airflow_provider_codat.exceptions import CodatConfigError
from airflow_provider_codat.operators._base import (
    CodatWindowedOperator,
    run_id,
    run_key,
)
from airflow_provider_codat.operators._batch import (
    MAX_FAILURES_RETURNED,
    OUTCOMES,
    Pair,
    blocking,
    connection_pairs,
    landed_before,
    write_summary,
)
from airflow_provider_codat.operators._window import (
    Window,
)
from airflow_provider_codat.output import FORMATS
from airflow_provider_codat.resources import listable_resources

if TYPE_CHECKING:
    from airflow.sdk import Context, ObjectStoragePath

    from airflow_provider_codat.exceptions import CodatError
    from airflow_provider_codat.hooks.commerce import CodatCommerceHook

__all__ = ["CodatExtractOperator"]

OnConnectionError = Literal["fail", "skip"]
MAP_INDEX_TEMPLATE = (
    "{{ task.connections | length }} connections from {{ (task.connections | first).company_id }}"
)
"""The label of each mapped task: its batch."""


@dataclass
class _Run:
    """What one execution shares between its pulls."""

    hook: CodatCommerceHook
    window: Window
    max_wait: float
    run_id: str
    run_key: str
    company_limits: dict[str, Any]
    budget: Any
    starting: asyncio.Semaphore
    writers: ThreadPoolExecutor
    retry_at: datetime | None = None
    fatal: BaseException | None = None
    pairs: list[Pair] = field(default_factory=list)

    @property
    def stopping(self) -> bool:
        """A daily quota or a fatal error: no new pair starts."""
        return self.retry_at is not None or self.fatal is not None


class CodatExtractOperator(CodatWindowedOperator):
    """Pull several Commerce resources for a batch of connections into object storage, in one task.

    :param connections: ``[{"company_id": ..., "connection_id": ...}, ...]``, e.g. one batch of
        :func:`~airflow_provider_codat.operators.commerce.list_commerce_connections`
        ``(batch_size=...)``. (templated; an XComArg works)
    :param output: The directory (URI or ``ObjectStoragePath``) to land under; each pair lands in
        ``{output}/{resource}/company={company_id}/connection={connection_id}/``. (templated)
    :param resource_names: Registry names to pull (default: every listable resource); not
        ``resources``, which is every Airflow operator's own argument (CPU and memory). (templated)
    :param format: ``jsonl``, ``jsonl.gz`` or ``parquet``.
    :param full_refresh: Pull everything, ignoring the run's data interval.
    :param modified_since: Lower bound on ``modifiedDate``, overriding the interval. (templated)
    :param modified_until: Upper bound (exclusive) on ``modifiedDate``. (templated)
    :param overlap: How far before the interval's start the window opens (default 5 minutes).
    :param page_size: Records per page, 1 to 5000 (default: the connection's).
    :param max_in_flight_per_company: Requests in flight per company, across its connections
        and resources (1 to 10, Codat's limit).
    :param max_in_flight: Requests in flight in all; it also bounds the pairs pulled at once.
    :param on_connection_error: ``fail`` (finish every other pair, then fail naming the pairs that
        failed) or ``skip`` (record them in the summary and succeed).
    :param deferrable: Wait out a daily-quota ``Retry-After`` in the triggerer instead of a task retry.
    :param codat_conn_id: The ``codat`` Airflow connection.
    """

    map_index_label = MAP_INDEX_TEMPLATE
    template_fields: Sequence[str] = (
        "connections",
        "output_path",
        "resource_names",
        "modified_since",
        "modified_until",
    )

    def __init__(
        self,
        *,
        connections: Any,
        output: str | ObjectStoragePath,
        resource_names: Sequence[str] | None = None,
        format: str = "jsonl",
        page_size: int | None = None,
        max_in_flight_per_company: int = MAX_IN_FLIGHT_PER_COMPANY,
        max_in_flight: int = 20,
        on_connection_error: OnConnectionError = "fail",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.connections = connections
        self.output_path = output  # ``output`` itself is BaseOperator's XComArg property
        self.resource_names = list(resource_names) if resource_names is not None else None
        self.format = format
        self.page_size = page_size
        self.max_in_flight_per_company = max_in_flight_per_company
        self.max_in_flight = max_in_flight
        self.on_connection_error = on_connection_error
        self._check_arguments()

    # -- arguments --------------------------------------------------------------------------------
    def _check_arguments(self) -> None:
        from airflow.sdk import Asset

        if self.format not in FORMATS:
            raise CodatConfigError(f"format: expected one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.output_path is None or (isinstance(self.output_path, str) and not self.output_path.strip()):
            raise CodatConfigError("output: required, a directory URI or ObjectStoragePath")
        check_whole(self.max_in_flight_per_company, "max_in_flight_per_company", 1, MAX_IN_FLIGHT_PER_COMPANY)
        check_whole(self.max_in_flight, "max_in_flight", 1, 1000)
        if self.page_size is not None:
            check_whole(self.page_size, "page_size", 1, MAX_PAGE_SIZE)
        check_choice(self.on_connection_error, "on_connection_error", ("fail", "skip"))
        if self.resource_names is not None and not any(is_runtime_value(r) for r in self.resource_names):
            self.resource_names = listable_names(self.resource_names, "resource_names")
        names_known = self.resource_names is None or not any(is_runtime_value(r) for r in self.resource_names)
        if not is_runtime_value(self.connections):
            pairs = connection_pairs(self.connections)
            if names_known:
                self.inlets = [*self.inlets, *(Asset(uri) for uri in self._source_uris(pairs))]
        if isinstance(self.output_path, str) and not is_runtime_value(self.output_path):
            self.outlets = [*self.outlets, Asset(self.output_path)]

    def _source_uris(self, pairs: list[dict[str, str]]) -> list[str]:
        """The ``codat://company/connection/resource`` URIs read, named as the list operators name them."""
        names = self.resource_names or [r.name for r in listable_resources()]
        return [f"codat://{p['company_id']}/{p['connection_id']}/{name}" for p in pairs for name in names]

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage inputs (each resource of each connection) and output; None without the provider."""
        try:
            from airflow.providers.common.compat.openlineage.facet import Dataset
            from airflow.providers.openlineage.extractors import OperatorLineage
        except ImportError:
            return None
        from airflow.sdk import ObjectStoragePath

        pairs = connection_pairs(self.connections) if not is_runtime_value(self.connections) else []
        inputs = [
            Dataset(namespace="codat", name=uri.removeprefix("codat://")) for uri in self._source_uris(pairs)
        ]
        path = ObjectStoragePath(str(self.output_path))
        output = Dataset(namespace=f"{path.protocol}://{path.bucket or ''}", name=path.path)
        return OperatorLineage(inputs=inputs, outputs=[output])

    # -- running ----------------------------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, Any]:
        """Land every (connection, resource) pair not landed yet for this run; return the totals."""
        from airflow.providers.common.compat.sdk import AirflowFailException

        try:
            connections = connection_pairs(self.connections)
            names = (
                listable_names(self.resource_names, "resource_names")
                if self.resource_names is not None
                else None
            )
            window = self.window(context)
        except ValueError as exc:
            raise AirflowFailException(str(exc)) from None
        names = names or [r.name for r in listable_resources()]
        with self.codat_errors():
            max_wait = self.hook.config.retry.max_wait  # read the connection (a bad one fails here)
        self.log.info(
            "Codat extract: %s of %s, records %s",
            counted(len(names), "resource"),
            counted(len(connections), "connection"),
            window.describe(),
        )
        run = self._run_all(context, connections, names, window, max_wait)
        summary = self._summarise(run, context)
        self._raise_for(run, summary)
        return summary

    def _run_all(
        self,
        context: Context,
        connections: list[dict[str, str]],
        names: list[str],
        window: Window,
        max_wait: float,
    ) -> _Run:
        from airflow_provider_codat.client import AsyncInFlightLimit, PageBudget

        pairs = [Pair(c["company_id"], c["connection_id"], name) for c in connections for name in names]

        async def main() -> _Run:
            total = asyncio.Semaphore(self.max_in_flight)
            limits = {
                company: AsyncInFlightLimit(self.max_in_flight_per_company, shared=total)
                for company in {p.company_id for p in pairs}
            }
            with ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="codat-extract") as writers:
                run = _Run(
                    hook=self.hook,
                    window=window,
                    max_wait=max_wait,
                    run_id=run_id(context),
                    run_key=run_key(self, context),
                    company_limits=limits,
                    budget=PageBudget(2 * self.max_in_flight),
                    starting=asyncio.Semaphore(self.max_in_flight),
                    writers=writers,
                    pairs=pairs,
                )
                try:
                    await asyncio.gather(*(self._land(run, pair) for pair in pairs))
                finally:
                    await self.hook.aclose()
            return run

        return asyncio.run(main())

    async def _land(self, run: _Run, pair: Pair) -> None:
        from airflow_provider_codat.exceptions import CodatAuthenticationError, CodatError

        async with run.starting:
            if run.stopping:
                return
            directory = self._directory(pair)
            loop = asyncio.get_running_loop()
            landed = await loop.run_in_executor(
                run.writers, landed_before, directory, run.run_id, run.window.to_json(), self.format
            )
            if landed is not None:
                pair.landed("landed_before", landed)
                return
            try:
                manifest = await self._pull(run, pair, directory)
            except CodatAuthenticationError as exc:  # the key itself: every other pair fails the same way
                run.fatal = exc
                pair.outcome, pair.error = "failed", f"{type(exc).__name__}: {exc}"
                return
            except CodatError as exc:
                self._record_failure(run, pair, exc)
                return
            pair.landed("done", manifest)

    async def _pull(self, run: _Run, pair: Pair, directory: str) -> dict[str, Any]:
        from airflow_provider_codat.operators._window import combine_queries
        from airflow_provider_codat.output import write_files

        pages = run.hook.alist_pages(
            pair.resource,
            pair.company_id,
            pair.connection_id,
            query=combine_queries(None, run.window.query()),
            page_size=self.page_size,
            limit=run.company_limits[pair.company_id],
            budget=run.budget,
        )
        loop = asyncio.get_running_loop()

        def land() -> dict[str, Any]:
            return write_files(
                blocking(pages, loop),
                output=directory,
                fmt=self.format,
                resource=pair.resource,
                run_key=run.run_key,
                about={
                    "company_id": pair.company_id,
                    "connection_id": pair.connection_id,
                    "window": run.window.to_json(),
                    "run_id": run.run_id,
                },
            )

        return await loop.run_in_executor(run.writers, land)

    def _record_failure(self, run: _Run, pair: Pair, error: CodatError) -> None:
        from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSkipException

        from airflow_provider_codat.airflow_errors import CodatRetryLater, to_airflow

        outcome = to_airflow(
            error, on_not_synced=self.on_not_synced, max_wait=run.max_wait, conn_id=self.codat_conn_id
        )
        if isinstance(outcome, CodatRetryLater):
            run.retry_at = outcome.retry_at if run.retry_at is None else max(run.retry_at, outcome.retry_at)
            return  # not started, for the retry
        if isinstance(outcome, AirflowSkipException):
            pair.outcome, pair.error = "skipped", str(outcome)
            return
        pair.outcome, pair.error = "failed", str(outcome)
        pair.retryable = not isinstance(outcome, AirflowFailException)
        self.log.warning(
            "Codat extract: %s of connection %s failed: %s", pair.resource, pair.connection_id, outcome
        )

    def _directory(self, pair: Pair) -> str:
        base = str(self.output_path).rstrip("/")
        return f"{base}/{pair.resource}/company={pair.company_id}/connection={pair.connection_id}"

    # -- the outcome ------------------------------------------------------------------------------
    def _summarise(self, run: _Run, context: Context) -> dict[str, Any]:
        outcomes = Counter(p.outcome for p in run.pairs)
        records: Counter[str] = Counter()
        for pair in run.pairs:
            records[pair.resource] += pair.records
        failures = [p.to_json() for p in run.pairs if p.outcome == "failed"]
        ti = context.get("ti")
        map_index = getattr(ti, "map_index", -1)
        name = "_summary.json" if map_index is None or map_index < 0 else f"_summary-{map_index:05d}.json"
        summary_uri = write_summary(
            str(self.output_path).rstrip("/"),
            name,
            {
                "run_id": run.run_id,
                "window": run.window.to_json(),
                "format": self.format,
                "retry_at": run.retry_at.isoformat() if run.retry_at else None,
                "pairs": [p.to_json() for p in run.pairs],
            },
        )
        result = {
            "window": run.window.to_json(),
            "records": dict(records),
            "pairs": {
                k: outcomes.get(k, 0) for k in ("done", "landed_before", "skipped", "failed", "not_started")
            },
            "failures": failures[:MAX_FAILURES_RETURNED],
            "summary_uri": summary_uri,
        }
        done, *others = (outcomes.get(k, 0) for k in OUTCOMES)
        self.log.info(
            "Codat extract: %s landed now, %d landed before, %d skipped, %d failed, %d not started; "
            "summary at %s",
            counted(done, "pair"),
            *others,
            summary_uri,
        )
        return result

    def _raise_for(self, run: _Run, summary: dict[str, Any]) -> None:
        from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

        from airflow_provider_codat.airflow_errors import to_airflow
        from airflow_provider_codat.exceptions import CodatError

        if isinstance(run.fatal, CodatError):
            raise to_airflow(run.fatal, conn_id=self.codat_conn_id) from None
        if run.retry_at is not None:
            from airflow_provider_codat.airflow_errors import CodatRetryLater

            error = CodatRetryLater(
                f"Codat's daily quota is spent; {summary['pairs']['not_started']} pairs left for the "
                f"retry at {run.retry_at:%Y-%m-%dT%H:%M:%SZ}",
                run.retry_at,
            )
            self.on_mapped_error(error)
            raise error
        failed = [p for p in run.pairs if p.outcome == "failed"]
        if failed and self.on_connection_error == "fail":
            named = "; ".join(
                f"{p.resource} of {p.company_id}/{p.connection_id}: {p.error}"
                for p in failed[:MAX_FAILURES_RETURNED]
            )
            more = (
                f" (and {len(failed) - MAX_FAILURES_RETURNED} more)"
                if len(failed) > MAX_FAILURES_RETURNED
                else ""
            )
            message = f"Codat extract: {len(failed)} of {len(run.pairs)} pairs failed: {named}{more}"
            if any(p.retryable for p in failed):
                raise AirflowException(message + "; a retry pulls only the pairs not landed")
            raise AirflowFailException(message)
