"""ASGI middleware in front of the API: authentication, rate limits and injected faults.

In order, for every request outside the reserved ``/_sandbox/`` prefix: payouts due are
applied; the ``Authorization`` header is checked (401); the request is counted against the daily
quota, and every response carries ``X-Rate-Limit-Limit``/``-Remaining``/``-Reset``; then the
configured faults may answer instead of the API: daily-quota 429 (``Retry-After`` hours away),
rate-limit 429, 5xx, a forced status (402, 403, ...), per-company concurrency 429; latency is
added; and finally the API's answer may be cut mid-body (dropped connection) or truncated into
malformed JSON.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import json
import logging
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airflow_provider_codat.sandbox.config import FaultRule
from airflow_provider_codat.sandbox.errors import error_body, json_bytes
from airflow_provider_codat.sandbox.world import World

__all__ = ["CONTROL_PREFIX", "REJECTIONS", "CodatGate"]

CONTROL_PREFIX = "/_sandbox"
REJECTIONS = (
    "concurrency",
    "rate_limit",
    "quota",
    "server_error",
    "forced_error",
    "unauthorised",
    "drop_connection",
    "malformed_json",
    "short_page",
)
"""The kinds of answer ``counters.rejected`` counts: every request the sandbox refused or spoiled."""
_COMPANY_RE = re.compile(r"^/companies/([^/]+)")


class CodatGate:
    """The middleware; one instance per server, sharing the :class:`World`."""

    def __init__(self, world: World, app: ASGIApp | None = None) -> None:
        self.app: ASGIApp = app or _no_app
        self.world = world
        self.requests_today = 0
        self._day = self._today()
        self._counters: Counter[str] = Counter()
        self._in_flight: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter({kind: 0 for kind in REJECTIONS})
        self._expected = f"Basic {base64.b64encode(world.config.api_key.encode()).decode()}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        self.world.advance()
        headers = self._rate_headers()
        if not self._authorised(scope):
            self.rejected["unauthorised"] += 1
            await self._send_error(send, 401, headers)
            return
        self._count()
        headers = self._rate_headers()
        faults = self.world.config.faults
        path = scope["path"]
        quota = self._quota()
        if faults.quota_exhausted or self.requests_today > quota:
            self.rejected["quota"] += 1
            reset = self._next_reset()
            retry = self._retry_after(reset - datetime.now(UTC), reset)
            await self._send_error(
                send,
                429,
                {**headers, "Retry-After": retry},
                "You have exceeded your daily request quota; it resets at 00:00 UTC.",
            )
            return
        if self._fires("rate_limit", faults.rate_limit, path):
            self.rejected["rate_limit"] += 1
            wait = timedelta(seconds=faults.retry_after_seconds)
            await self._send_error(
                send, 429, {**headers, "Retry-After": self._retry_after(wait, datetime.now(UTC) + wait)}
            )
            return
        if self._fires("server_error", faults.server_error, path):
            self.rejected["server_error"] += 1
            await self._send_error(send, faults.server_error_status, headers)
            return
        if self._fires("forced_error", faults.forced_error, path):
            self.rejected["forced_error"] += 1
            await self._send_error(send, faults.forced_error_status, headers)
            return
        company = _COMPANY_RE.match(path)
        key = company.group(1) if company else ""
        self._in_flight[key] += 1
        try:
            if key and self._in_flight[key] > faults.concurrency_limit:
                self.rejected["concurrency"] += 1
                await self._send_error(
                    send,
                    429,
                    {**headers, "Retry-After": "1"},
                    "Too many concurrent requests for this company; please retry later.",
                )
                return
            if faults.latency_ms > 0:
                await asyncio.sleep(faults.latency_ms / 1000)
            await self._answer(scope, receive, send, headers)
        finally:
            self._in_flight[key] -= 1

    async def _answer(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        """Let the API answer, spoiling the answer where a fault fires."""
        faults, path = self.world.config.faults, scope["path"]
        if self._fires("drop_connection", faults.drop_connection, path):
            self.rejected["drop_connection"] += 1
            with contextlib.suppress(_Dropped):
                await self.app(scope, receive, _dropping(send, headers))
        elif self._fires("malformed_json", faults.malformed_json, path):
            self.rejected["malformed_json"] += 1
            await self.app(scope, receive, _truncating(send, headers))
        elif _is_list(scope) and self._fires("short_page", faults.short_page, path):
            self.rejected["short_page"] += 1
            await self.app(scope, receive, _shortening(send, headers))
        else:
            await self.app(scope, receive, _with_headers(send, headers))

    async def _send_error(
        self, send: Send, status: int, headers: dict[str, str], error: str | None = None
    ) -> None:
        """Answer with Codat's ErrorMessage instead of the API (null members as the API sends them)."""
        body = error_body(status, error, nulls=self.world.config.quirks)
        await _send_json(send, status, headers, json_bytes(body))

    # -- authentication -----------------------------------------------------------------------
    def _authorised(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                given = value.decode("latin-1").strip()
                return _valid_basic(given) and hmac.compare_digest(given, self._expected)
        return False

    # -- quota and rate-limit headers ---------------------------------------------------------
    @staticmethod
    def _today() -> datetime:
        return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

    def _next_reset(self) -> datetime:
        return self._today() + timedelta(days=1)

    def _quota(self) -> int:
        configured = self.world.config.faults.daily_quota
        return configured if configured is not None else 1000 * (1 + len(self.world.companies))

    def _count(self) -> None:
        today = self._today()
        if today != self._day:
            self._day, self.requests_today = today, 0
        self.requests_today += 1

    def _rate_headers(self) -> dict[str, str]:
        quota = self._quota()
        remaining = 0 if self.world.config.faults.quota_exhausted else max(0, quota - self.requests_today)
        return {
            "X-Rate-Limit-Limit": str(quota),
            "X-Rate-Limit-Remaining": str(remaining),
            "X-Rate-Limit-Reset": self._next_reset().strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def _retry_after(self, wait: timedelta, at: datetime) -> str:
        if self.world.config.faults.retry_after_form == "http-date":
            return format_datetime(at.astimezone(UTC), usegmt=True)
        return str(max(0, round(wait.total_seconds())))

    # -- fault rules --------------------------------------------------------------------------
    def _fires(self, name: str, rule: FaultRule, path: str) -> bool:
        if not rule.active or (rule.path_contains is not None and rule.path_contains not in path):
            return False
        if rule.burst > 0:
            rule.burst -= 1
            return True
        self._counters[name] += 1
        return rule.every > 0 and self._counters[name] % rule.every == 0

    def state(self) -> dict[str, Any]:
        """Counters for the control endpoint."""
        return {
            "requests_today": self.requests_today,
            "in_flight": sum(self._in_flight.values()),
            "rejected": dict(self.rejected),
        }


async def _no_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("CodatGate.app was never set")


def _valid_basic(value: str) -> bool:
    scheme, _, token = value.partition(" ")
    if scheme != "Basic" or not token:
        return False
    try:
        base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _encode_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


async def _send_json(send: Send, status: int, headers: dict[str, str], body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *_encode_headers(headers),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _with_headers(send: Send, headers: dict[str, str]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *_encode_headers(headers)]}
        await send(message)

    return wrapped


class _Dropped(Exception):
    """Raised after half a body was sent, to end the response early."""


class _IncompleteResponseFilter(logging.Filter):
    """Hide uvicorn's complaint about the responses the drop-connection fault cuts on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_IncompleteResponseFilter())


def _dropping(send: Send, headers: dict[str, str]) -> Send:
    """Send the headers and half of the body, then stop: uvicorn then closes the connection."""
    inner = _with_headers(send, headers)

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.body":
            body = message.get("body", b"")
            await inner({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            raise _Dropped
        await inner(message)

    return wrapped


def _is_list(scope: Scope) -> bool:
    return scope.get("method") == "GET" and "page=" in scope.get("query_string", b"").decode("latin-1")


def _rewriting(
    send: Send, headers: dict[str, str], rewrite: Callable[[int, bytes], tuple[int, bytes]]
) -> Send:
    """Send the response with its status and body rewritten, and a Content-Length that matches."""
    start: dict[str, Any] = {}

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            return
        status, body = rewrite(int(start.get("status", 200)), message.get("body", b""))
        kept = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
        length = (b"content-length", str(len(body)).encode())
        await send({**start, "status": status, "headers": [*kept, length, *_encode_headers(headers)]})
        await send({"type": "http.response.body", "body": body})

    return wrapped


def _shortening(send: Send, headers: dict[str, str]) -> Send:
    """Drop the last record of a list page, keeping its ``totalResults`` and links."""

    def shorten(status: int, body: bytes) -> tuple[int, bytes]:
        if status == 200:
            envelope = json.loads(body)
            if isinstance(envelope, dict) and envelope.get("results"):
                envelope["results"] = envelope["results"][:-1]
                body = json.dumps(envelope).encode()
        return status, body

    return _rewriting(send, headers, shorten)


def _truncating(send: Send, headers: dict[str, str]) -> Send:
    """Cut the JSON body short (a 200 all the same) while keeping a consistent Content-Length."""
    return _rewriting(send, headers, lambda status, body: (200, body[: max(1, len(body) // 2)]))
