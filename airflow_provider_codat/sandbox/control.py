"""Control endpoints under ``/_sandbox/``: read state, script faults, move data. No auth.

- ``GET /_sandbox/state``: seed, quirks, ids, fault configuration and counters.
- ``PATCH /_sandbox/faults``: partial update of :class:`~.config.FaultConfig` (400 names a bad field).
- ``POST /_sandbox/faults/reset``: every fault back to its default.
- ``POST /_sandbox/payouts``: ``{"count": 1, "connection_id": optional}`` new payouts stamped now.
- ``POST /_sandbox/mutate``: ``{"resource": "transactions", "count": 1, "connection_id": optional}``
  bumps records' modifiedDate to now.

Counts run from 1 to :data:`~.config.MAX_RECORDS_AT_ONCE`; a 400 names a bad field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airflow_provider_codat.resources import get_resource
from airflow_provider_codat.sandbox.config import MAX_RECORDS_AT_ONCE, FaultConfig
from airflow_provider_codat.sandbox.errors import error_response, json_response
from airflow_provider_codat.sandbox.world import Connection, World

__all__ = ["control_routes"]


def control_routes(world: World, counters: Callable[[], dict[str, Any]]) -> list[Route]:
    """Build the control routes over ``world``; ``counters`` reports the gate's request counts."""

    async def state(request: Request) -> Response:
        return json_response(
            {
                "api_key_hint": "set with --api-key",
                "seed": world.config.seed,
                "quirks": world.config.quirks,
                "companies": [
                    {
                        "id": co.id,
                        "name": co.name,
                        "connections": [
                            {
                                "id": c.id,
                                "platform": c.platform.name,
                                "sourceType": c.source_type,
                                "status": c.status,
                            }
                            for c in co.connections.values()
                        ],
                    }
                    for co in world.companies.values()
                ],
                "faults": world.config.faults.to_json(),
                "counters": counters(),
            }
        )

    async def patch_faults(request: Request) -> Response:
        body = await _json_object(request)
        if isinstance(body, Response):
            return body
        try:
            world.update_faults(body)
        except ValueError as exc:
            return error_response(400, str(exc), service="Sandbox")
        return json_response(world.config.faults.to_json())

    async def reset_faults(request: Request) -> Response:
        world.update_faults(FaultConfig().to_json())
        return json_response(world.config.faults.to_json())

    async def payouts(request: Request) -> Response:
        body = await _json_object(request)
        if isinstance(body, Response):
            return body
        targets = _targets(world, body.get("connection_id"))
        count = body.get("count", 1)
        problem = _check_targets(targets, count)
        if problem is not None:
            return problem
        now = int(world.clock())
        ids = {c.id: c.datasets["transactions"].append(now, count) for c in targets}
        return json_response({"added": ids})

    async def mutate(request: Request) -> Response:
        body = await _json_object(request)
        if isinstance(body, Response):
            return body
        targets = _targets(world, body.get("connection_id"))
        count = body.get("count", 1)
        try:
            resource = get_resource(str(body.get("resource", "transactions")))
        except ValueError as exc:
            return error_response(400, str(exc), service="Sandbox")
        problem = _check_targets(targets, count)
        if problem is not None:
            return problem
        now = int(world.clock())
        bumped = {c.id: len(c.datasets[resource.name].bump(now, count, salt=now)) for c in targets}
        return json_response({"bumped": bumped})

    return [
        Route("/_sandbox/state", state, methods=["GET"]),
        Route("/_sandbox/faults", patch_faults, methods=["PATCH", "PUT"]),
        Route("/_sandbox/faults/reset", reset_faults, methods=["POST"]),
        Route("/_sandbox/payouts", payouts, methods=["POST"]),
        Route("/_sandbox/mutate", mutate, methods=["POST"]),
    ]


async def _json_object(request: Request) -> dict[str, Any] | Response:
    try:
        body = await request.json()
    except ValueError:
        return error_response(400, "Body must be a JSON object", service="Sandbox")
    if not isinstance(body, dict):
        return error_response(400, "Body must be a JSON object", service="Sandbox")
    return body


def _check_targets(targets: list[Connection], count: object) -> Response | None:
    """A 400 naming what is wrong with the connection or the count, or None."""
    if not targets:
        return error_response(400, "connection_id: must name a commerce connection", service="Sandbox")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_RECORDS_AT_ONCE:
        return error_response(
            400,
            f"count: must be a whole number from 1 to {MAX_RECORDS_AT_ONCE}, got {count!r}",
            service="Sandbox",
        )
    return None


def _targets(world: World, connection_id: object) -> list[Connection]:
    conns = world.commerce_connections()
    if connection_id is None:
        return conns
    return [c for c in conns if c.id == connection_id]
