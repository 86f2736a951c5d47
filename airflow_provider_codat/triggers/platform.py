"""Triggers that wait in the triggerer for Codat to finish refreshing data (Platform API).

- :class:`CodatPullOperationTrigger` polls pull operations (queued refreshes) until they end.
- :class:`CodatDataSyncTrigger` polls a company's ``dataStatus`` until data types have synced.

Both run :class:`~airflow_provider_codat.triggers.base.CodatPollTrigger`'s poll loop and send its
events; the rules they apply to Codat's statuses are :mod:`airflow_provider_codat.refresh`'s.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_codat.arguments import parse_moment
from airflow_provider_codat.exceptions import CodatConfigError
from airflow_provider_codat.hooks.platform import CodatPlatformHook
from airflow_provider_codat.refresh import State, describe, pull_state, settled, split_ids, sync_states
from airflow_provider_codat.triggers.base import CodatPollTrigger

__all__ = ["CodatDataSyncTrigger", "CodatPullOperationTrigger"]


class CodatPullOperationTrigger(CodatPollTrigger):
    """Wait until Codat's pull operations (queued refreshes) end, or one of them fails.

    The ``done`` event carries ``states``: ``{pull_operation_id: state}``, each state a dict of
    ``dataType``, ``connectionId``, ``status``, ``done``, ``id`` and ``error`` (see :func:`pull_state`).

    :param company_id: The company's UUID.
    :param pull_operation_ids: The pull operations' UUIDs, comma-separated.
    :param settings: ``deadline``, ``poll_interval``, ``max_poll_interval``, ``max_errors`` and
        ``codat_conn_id``, as :class:`~airflow_provider_codat.triggers.base.CodatPollTrigger` takes them.
    """

    def __init__(self, *, pull_operation_ids: str, **settings: Any) -> None:
        super().__init__(**settings)
        self.pull_operation_ids = pull_operation_ids
        self._states: dict[str, State] = {}

    def settings(self) -> dict[str, Any]:
        """The base settings and ``pull_operation_ids``."""
        return {**super().settings(), "pull_operation_ids": self.pull_operation_ids}

    async def check(self, hook: CodatPlatformHook) -> dict[str, Any] | None:
        """Fetch every pull operation that has not ended; finish once :func:`settled`."""
        for op_id in split_ids(self.pull_operation_ids):
            if not self._states.get(op_id, {}).get("done"):
                self._states[op_id] = pull_state(await hook.aget_pull_operation(self.company_id, op_id))
        if settled(self._states.values()):
            return {"states": self._states}
        self.log.info("Codat refresh: %s", describe(self._states.values()))
        return None

    def describe_waiting(self) -> str:
        """Name the refreshes still running."""
        running = describe(s for s in self._states.values() if not s["done"])
        return f"Codat refreshes still running: {running or 'unknown'}"


class CodatDataSyncTrigger(CodatPollTrigger):
    """Wait until data types have synced successfully after a moment, reading ``dataStatus``.

    The ``done`` event carries ``states``: ``{data_type: state}`` (see :func:`sync_state`), each
    ``Complete``, or a pull operation that ended badly after ``synced_after`` (fail fast).

    :param company_id: The company's UUID.
    :param data_types: Codat data types (``commerce-orders``), comma-separated.
    :param synced_after: ISO 8601 date-time; a sync that ended earlier does not count.
    :param settings: ``deadline``, ``poll_interval``, ``max_poll_interval``, ``max_errors`` and
        ``codat_conn_id``, as :class:`~airflow_provider_codat.triggers.base.CodatPollTrigger` takes them.
    """

    def __init__(self, *, data_types: str, synced_after: str, **settings: Any) -> None:
        super().__init__(**settings)
        moment = parse_moment(synced_after, "synced_after")
        if moment is None:
            raise CodatConfigError(f"synced_after: expected an ISO 8601 date-time, got {synced_after!r}")
        self.data_types = data_types
        self.synced_after = synced_after
        self._after = moment
        self._states: dict[str, State] = {}

    def settings(self) -> dict[str, Any]:
        """The base settings, ``data_types`` and ``synced_after``."""
        return {**super().settings(), "data_types": self.data_types, "synced_after": self.synced_after}

    async def check(self, hook: CodatPlatformHook) -> dict[str, Any] | None:
        """Read ``dataStatus`` (and a failed latest pull operation); finish once :func:`settled`."""
        status = await hook.aget_data_status(self.company_id)
        types = split_ids(self.data_types)
        states, needed = sync_states(status, types, self._after, {})
        if needed:
            operations = {op_id: await hook.aget_pull_operation(self.company_id, op_id) for op_id in needed}
            states, _ = sync_states(status, types, self._after, operations)
        self._states.update(states)
        if settled(self._states.values()):
            return {"states": self._states}
        return None

    def describe_waiting(self) -> str:
        """Name the data types not synced."""
        waiting = ", ".join(s["dataType"] for s in self._states.values() if not s["done"])
        return (
            f"Codat data types not synced since {self.synced_after} at the deadline: {waiting or 'unknown'}"
        )
