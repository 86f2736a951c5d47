"""The sandbox against Codat's published OpenAPI specs: every operation it serves, every status.

Each case sends one request to a running strict sandbox (``quirks=False``) and checks, through
openapi-core:

- the request path resolves, in the spec, to the operation the case names;
- the request is valid per the spec, or invalid exactly when the case provokes a 400 or 401 by
  breaking the spec (``page=0``, no ``Authorization``), so the sandbox refuses what the spec forbids;
- the response's status code is one the spec declares for that operation, and selects the response
  object the body is validated against (the spec's ``200`` schema or its ErrorMessage responses);
- every response carries ``X-Rate-Limit-Limit``/``-Remaining``/``-Reset``; a 429 carries a parseable
  ``Retry-After`` in the configured form; every error body is a complete ErrorMessage (but for a
  null ``validation``, which the strict sandbox leaves out).

Two documented departures from a literal reading of the specs (and two gaps of the specs themselves,
each with its own test: ``pageSize`` 5000 against PagingInfo's maximum of 2000, and list-locations):

- The documents say ``openapi: 3.1.0`` but mark nullable values the OpenAPI 3.0 way
  (``nullable: true``), which 3.1 validators ignore. :func:`to_oas31` rewrites those into 3.1's
  ``type: [..., "null"]`` (or ``anyOf`` with ``{"type": "null"}``) before validating. The strict
  sandbox sends no nulls, so its answers are checked against the plain 3.1 reading as well.
- Codat sends enum values its schema lacks (the spec's own Customer examples have ``billing`` and
  ``delivery`` addresses). :data:`ENUM_QUIRKS` lists those the default sandbox reproduces. The strict
  sandbox tolerates none; the default one only those exact deviations, and tests check each is shown
  by Codat, still refused by the schema, and really sent, with quirks on only.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, unquote

import httpx
import jsonschema
import pytest
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.finders import APICallPathFinder
from werkzeug.datastructures import Headers, ImmutableMultiDict

from airflow_provider_codat.sandbox import CodatSandbox

RATE_LIMIT_HEADERS = ("X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset")
RECORDS = 30
RETRY_AFTER_SECONDS = 2
_SPECIAL = re.compile(r"[^A-Za-z0-9_]")


# -- the spec, made checkable ------------------------------------------------------------------------
def to_oas31(node: Any) -> Any:
    """Return a copy of a spec (sub)tree with OpenAPI 3.0 ``nullable: true`` rewritten for 3.1.

    ``{"type": "string", "nullable": true}`` becomes ``{"type": ["string", "null"]}`` (with ``None``
    added to an ``enum``); a nullable schema without a plain ``type`` (a ``$ref``, ``allOf``...) becomes
    ``{"anyOf": [<schema>, {"type": "null"}]}``. ``nullable: false`` is dropped. Examples are copied
    untouched, and only a boolean ``nullable`` counts (a property *named* nullable is left alone).
    """
    if isinstance(node, list):
        return [to_oas31(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: (v if k in ("example", "examples") else to_oas31(v)) for k, v in node.items()}
    nullable = out.get("nullable")
    if not isinstance(nullable, bool):
        return out
    del out["nullable"]
    if not nullable:
        return out
    composite = any(k in out for k in ("$ref", "allOf", "anyOf", "oneOf", "not"))
    if isinstance(out.get("type"), str) and not composite:
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        return out
    return {"anyOf": [out, {"type": "null"}]}


def resolve_pointer(document: Mapping[str, Any], pointer: str) -> Any:
    """Return the node at JSON pointer ``pointer`` (``/components/schemas/X``) of ``document``."""
    node: Any = document
    for raw in pointer.lstrip("/").split("/"):
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


@dataclass(frozen=True)
class EnumQuirk:
    """An out-of-schema enum value that Codat really sends and the sandbox reproduces on purpose."""

    name: str
    pointer: str
    """JSON pointer, in the Commerce spec, of the schema whose ``enum`` the value is missing from."""
    values: tuple[str, ...]
    operation: str
    """A list operation whose records show it."""
    shown_in: str
    """JSON pointer, in the Commerce spec, of the Codat example data that shows every one of ``values``."""


ENUM_QUIRKS: tuple[EnumQuirk, ...] = (
    EnumQuirk(
        "lower-case address type",
        "/components/schemas/Address/definitions/commerceAddressType",
        ("billing", "delivery"),
        "list-customers",
        "/components/schemas/Customer/examples",
    ),
)


class WireRequest:
    """An httpx request seen through openapi-core's request protocol, as if sent to ``host_url``.

    The specs name only the production server, so requests to the sandbox are validated as if they
    had gone there: the path and everything after it are what the sandbox received.
    """

    def __init__(self, request: httpx.Request, host_url: str) -> None:
        self.host_url = host_url
        self.path = request.url.path
        self.method = request.method.lower()
        self.body = request.content or None
        self.content_type = request.headers.get("content-type", "")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
            path={},
        )


class WireResponse:
    """An httpx response seen through openapi-core's response protocol."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.headers = Headers(list(response.headers.items()))
        self.content_type = response.headers.get("content-type", "")
        self.data = response.content


class SpecValidator:
    """One published spec, ready to validate the sandbox's requests and responses."""

    def __init__(
        self, spec: Mapping[str, Any], quirks: Sequence[EnumQuirk] = (), *, nullable: bool = True
    ) -> None:
        """Read ``spec`` with its ``nullable`` marks honoured, or (``nullable=False``) as plain 3.1."""
        self.raw = spec
        self.document = to_oas31(spec) if nullable else spec
        self.api = OpenAPI.from_dict(self.document, config=Config(spec_validator_cls=None))
        self.server = spec["servers"][0]["url"]
        self.operations: dict[str, tuple[str, str, dict[str, Any]]] = {
            op["operationId"]: (method, path, op)
            for path, item in spec["paths"].items()
            for method, op in item.items()
            if isinstance(op, dict) and "operationId" in op
        }
        self._path_parameters = {path: item.get("parameters", []) for path, item in spec["paths"].items()}
        self._quirks = [(tuple(resolve_pointer(spec, q.pointer)["enum"]), q) for q in quirks]
        self._finder = APICallPathFinder(self.api.spec)

    def parameters(self, operation_id: str) -> list[dict[str, Any]]:
        """The operation's parameters, path-level ones included, with ``$ref`` resolved."""
        _, path, op = self.operations[operation_id]
        found = [*self._path_parameters[path], *op.get("parameters", [])]
        return [resolve_pointer(self.raw, p["$ref"][1:]) if "$ref" in p else p for p in found]

    def declared_statuses(self, operation_id: str) -> set[int]:
        """The status codes the spec declares for an operation."""
        return {int(code) for code in self.operations[operation_id][2]["responses"]}

    def matched_operation(self, request: httpx.Request) -> str:
        """The operationId the spec routes this request to."""
        found = self._finder.find(request.method.lower(), self.server + request.url.path)
        return str(found.operation["operationId"])

    def request_errors(self, request: httpx.Request) -> list[str]:
        """Why the spec rejects this request (empty when it is valid)."""
        return [_describe(exc) for exc in self.api.iter_request_errors(WireRequest(request, self.server))]

    def response_errors(self, response: httpx.Response) -> list[str]:
        """Why the spec rejects this response, tolerated enum quirks aside (empty when valid)."""
        req = WireRequest(response.request, self.server)
        out: list[str] = []
        for exc in self.api.iter_response_errors(req, WireResponse(response)):
            schema_errors = _schema_errors(exc)
            if not schema_errors:
                out.append(_describe(exc))
                continue
            out.extend(_format_error(err) for err in schema_errors if self.tolerated(err) is None)
        return out

    def tolerated(self, error: jsonschema.ValidationError) -> EnumQuirk | None:
        """The quirk that excuses this schema error, if any."""
        if error.validator != "enum" or not isinstance(error.instance, str):
            return None
        for enum, quirk in self._quirks:
            if tuple(error.validator_value) == enum and error.instance in quirk.values:
                return quirk
        return None

    def quirks_in(self, response: httpx.Response) -> set[str]:
        """Names of the tolerated quirks that this response shows."""
        req = WireRequest(response.request, self.server)
        found: set[str] = set()
        for exc in self.api.iter_response_errors(req, WireResponse(response)):
            for err in _schema_errors(exc):
                quirk = self.tolerated(err)
                if quirk is not None:
                    found.add(quirk.name)
        return found


def _schema_errors(exc: BaseException) -> list[jsonschema.ValidationError]:
    cur: BaseException | None = exc
    while cur is not None:
        errors = getattr(cur, "schema_errors", None)
        if errors:
            return list(errors)
        cur = cur.__cause__
    return []


def _format_error(err: jsonschema.ValidationError) -> str:
    where = "/".join(str(p) for p in err.absolute_path) or "<body>"
    detail = "; ".join(sub.message[:160] for sub in (err.context or [])[:4])
    return f"{where}: {err.message[:300]}" + (f" [{detail}]" if detail else "")


def _describe(exc: BaseException) -> str:
    parts = [f"{type(exc).__name__}: {exc}"]
    for err in _schema_errors(exc):
        parts.append(_format_error(err))
    cause = exc.__cause__
    if cause is not None and not _schema_errors(exc):
        parts.append(f"caused by {type(cause).__name__}: {cause}")
    return " | ".join(parts)[:1200]


# -- the operations and the cases ----------------------------------------------------------------------
@dataclass(frozen=True)
class Operation:
    """An operation the sandbox serves, and what kind of request reaches it."""

    api: str  # "commerce" or "platform"
    id: str
    paged: bool = False
    """Declares the page/pageSize/query parameters and a 400 response."""
    connection: bool = False
    """Has a connection in its path (or, for refresh-data-type, its query)."""
    record: bool = False
    """Gets one record by id."""


COMMERCE_LISTS = (
    "list-customers",
    "list-disputes",
    "list-orders",
    "list-payments",
    "list-payment-methods",
    "list-products",
    "list-product-categories",
    "list-tax-components",
    "list-transactions",
)
COMMERCE_GETS = (
    "get-customer",
    "get-dispute",
    "get-location",
    "get-order",
    "get-payment",
    "get-payment-method",
    "get-product",
    "get-product-category",
    "get-tax-component",
    "get-transaction",
)
OPERATIONS: tuple[Operation, ...] = (
    *(Operation("commerce", op, paged=True, connection=True) for op in COMMERCE_LISTS),
    # The spec gives list-locations neither paging parameters nor a 400: see the dedicated test.
    Operation("commerce", "list-locations", connection=True),
    *(Operation("commerce", op, connection=True, record=True) for op in COMMERCE_GETS),
    Operation("commerce", "get-company-info", connection=True),
    Operation("platform", "list-companies", paged=True),
    Operation("platform", "get-company"),
    Operation("platform", "list-connections", paged=True),
    Operation("platform", "get-connection", connection=True),
    Operation("platform", "get-company-data-status"),
    Operation("platform", "refresh-data-type", connection=True),
    Operation("platform", "list-pull-operations", paged=True),
    Operation("platform", "get-pull-operation"),
)


@dataclass(frozen=True)
class Variant:
    """One way of provoking a status."""

    status: int
    name: str
    applies: Callable[[Operation], bool]
    params: Mapping[str, str] = field(default_factory=dict)
    faults: Mapping[str, Any] = field(default_factory=dict)
    request_valid: bool = True
    """Whether the spec accepts the request (a 400/401 may come from a request the spec forbids)."""


def _always(op: Operation) -> bool:
    return True


def _company_scoped(op: Operation) -> bool:
    return op.id != "list-companies"


def _commerce(op: Operation) -> bool:
    return op.api == "commerce"


def _commerce_paged(op: Operation) -> bool:
    return op.api == "commerce" and op.paged


def _paged(op: Operation) -> bool:
    return op.paged


def _only(*ids: str) -> Callable[[Operation], bool]:
    return lambda op: op.id in ids


def _burst(rule: str, **extra: Any) -> dict[str, Any]:
    return {rule: {"burst": 1}, **extra}


VARIANTS: tuple[Variant, ...] = (
    Variant(200, "ok", _always),
    Variant(200, "second-page", _paged, {"page": "2", "pageSize": "1"}),
    Variant(
        200,
        "filtered-and-ordered",
        _commerce_paged,
        {"query": "modifiedDate>2000-01-01", "orderBy": "-modifiedDate", "pageSize": "5"},
    ),
    Variant(
        200,
        "filtered-and-ordered-history",
        _only("list-pull-operations"),
        {"query": "dataType=commerce-orders&&status=Complete", "orderBy": "-requested"},
    ),
    Variant(200, "running", _only("get-pull-operation")),
    Variant(200, "errored", _only("get-pull-operation")),
    Variant(200, "with-pull-operations", _only("get-company-data-status")),
    Variant(200, "one-connection", _only("refresh-data-type")),
    Variant(400, "malformed-query", _paged, {"query": "{modifiedDate>2020-01-01"}),
    Variant(400, "unknown-property", _commerce_paged, {"query": "noSuchField=1"}),
    Variant(400, "unknown-order-by-property", _commerce_paged, {"orderBy": "-noSuchField"}),
    Variant(400, "page-zero", _paged, {"page": "0"}, request_valid=False),
    Variant(400, "page-not-a-number", _paged, {"page": "two"}, request_valid=False),
    Variant(400, "page-beyond-int32", _paged, {"page": "99999999999999999999"}, request_valid=False),
    Variant(400, "page-size-zero", _paged, {"pageSize": "0"}, request_valid=False),
    Variant(400, "page-size-over-5000", _paged, {"pageSize": "5001"}, request_valid=False),
    Variant(400, "unknown-data-type", _only("refresh-data-type"), request_valid=False),
    Variant(400, "already-in-progress", _only("refresh-data-type")),
    Variant(401, "no-authorization", _always, request_valid=False),
    Variant(401, "wrong-key", _always),
    Variant(401, "not-basic-scheme", _always),
    Variant(402, "account-limit", _always, faults=_burst("forced_error", forced_error_status=402)),
    Variant(403, "forbidden", _always, faults=_burst("forced_error", forced_error_status=403)),
    Variant(404, "unknown-company", _company_scoped),
    Variant(404, "unknown-connection", lambda op: op.connection),
    Variant(404, "accounting-connection", _commerce),
    Variant(404, "unknown-record", lambda op: op.record),
    Variant(404, "unknown-pull-operation", _only("get-pull-operation")),
    # Nothing makes list-companies 404 naturally, but the spec declares it: force it.
    Variant(404, "forced", _only("list-companies"), faults=_burst("forced_error", forced_error_status=404)),
    Variant(409, "not-synced", _commerce),
    Variant(
        429,
        "retry-after-seconds",
        _always,
        faults=_burst("rate_limit", retry_after_seconds=RETRY_AFTER_SECONDS, retry_after_form="seconds"),
    ),
    Variant(
        429,
        "retry-after-http-date",
        _always,
        faults=_burst("rate_limit", retry_after_seconds=RETRY_AFTER_SECONDS, retry_after_form="http-date"),
    ),
    Variant(429, "daily-quota-spent", _always, faults={"quota_exhausted": True}),
    Variant(500, "server-error", _always, faults=_burst("server_error", server_error_status=500)),
    Variant(503, "unavailable", _always, faults=_burst("server_error", server_error_status=503)),
)


@dataclass(frozen=True)
class Case:
    """One operation answering one status, provoked one way."""

    operation: Operation
    variant: Variant

    @property
    def id(self) -> str:
        return f"{self.operation.id}-{self.variant.status}-{self.variant.name}"


CASES: tuple[Case, ...] = tuple(Case(op, v) for op in OPERATIONS for v in VARIANTS if v.applies(op))


# -- the running sandbox -------------------------------------------------------------------------------
@dataclass
class Harness:
    """The module's running sandbox, a client for it, and the ids the cases use."""

    sandbox: CodatSandbox
    client: httpx.Client
    company: str
    connection: str
    accounting_connection: str
    refresh_company: str
    refresh_connection: str
    pull_operations: dict[str, str]
    record_ids: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def validators(commerce_spec: dict[str, Any], platform_spec: dict[str, Any]) -> dict[str, SpecValidator]:
    """Strict validators: every deviation from the specs is a violation."""
    return {"commerce": SpecValidator(commerce_spec), "platform": SpecValidator(platform_spec)}


@pytest.fixture(scope="module")
def literal(commerce_spec: dict[str, Any], platform_spec: dict[str, Any]) -> dict[str, SpecValidator]:
    """The specs read as the OpenAPI 3.1 they declare, which ignores their ``nullable`` marks."""
    return {
        "commerce": SpecValidator(commerce_spec, nullable=False),
        "platform": SpecValidator(platform_spec, nullable=False),
    }


@pytest.fixture(scope="module")
def tolerant(commerce_spec: dict[str, Any]) -> SpecValidator:
    """The Commerce spec, tolerating exactly :data:`ENUM_QUIRKS` (for the default, quirky sandbox)."""
    return SpecValidator(commerce_spec, ENUM_QUIRKS)


@pytest.fixture(scope="module")
def harness(
    validators: dict[str, SpecValidator], codat_sandboxes: Callable[..., CodatSandbox]
) -> Iterator[Harness]:
    sandbox = codat_sandboxes(companies=2, connections=1, records=RECORDS, quirks=False)
    with httpx.Client(
        base_url=sandbox.url, headers={"Authorization": sandbox.auth_header}, timeout=30
    ) as client:
        company, connection = sandbox.connections[0]
        refresh_company, refresh_connection = sandbox.connections[-1]
        accounting = next(
            c.id
            for c in sandbox.world.companies[company].connections.values()
            if c.source_type == "Accounting"
        )
        ops: dict[str, str] = {}
        for name, data_type, faults in (
            ("complete", "commerce-orders", {"sync_seconds": 0}),
            ("running", "commerce-customers", {"sync_seconds": 3600}),
            ("errored", "commerce-disputes", {"sync_seconds": 0, "pull_outcome": {"*": "FetchError"}}),
        ):
            sandbox.set_faults(**faults)
            reply = client.post(f"/companies/{refresh_company}/data/queue/{data_type}")
            assert reply.status_code == 200, reply.text
            ops[name] = reply.json()["id"]
        sandbox.reset_faults()
        yield Harness(
            sandbox, client, company, connection, accounting, refresh_company, refresh_connection, ops
        )


@pytest.fixture(autouse=True)
def _clean_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "harness" in request.fixturenames:
        request.getfixturevalue("harness").sandbox.reset_faults()


def _record_id(harness: Harness, validator: SpecValidator, operation_id: str) -> str:
    """An existing id for a get operation, preferring one with ``:``, spaces or quotes."""
    if operation_id not in harness.record_ids:
        _, path, _ = validator.operations[operation_id]
        list_path = path.rsplit("/", 1)[0].format(companyId=harness.company, connectionId=harness.connection)
        reply = harness.client.get(list_path, params={"pageSize": str(RECORDS)})
        assert reply.status_code == 200, reply.text
        ids = [r["id"] for r in reply.json()["results"]]
        assert ids, f"{list_path} listed no records"
        harness.record_ids[operation_id] = max(ids, key=lambda i: len(_SPECIAL.findall(i)))
    return harness.record_ids[operation_id]


@dataclass
class Call:
    """The request one case sends, and the faults (and any preparatory request) it needs first."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    faults: dict[str, Any]
    before: Callable[[], None] | None = None


def _build(case: Case, harness: Harness, validator: SpecValidator) -> Call:
    op, variant = case.operation, case.variant
    method, template, _ = validator.operations[op.id]
    company = (
        harness.refresh_company if op.id in ("refresh-data-type", "get-pull-operation") else harness.company
    )
    if variant.name == "with-pull-operations" or (op.id == "list-pull-operations" and variant.status == 200):
        company = harness.refresh_company
    connection = harness.connection
    if variant.name == "unknown-company":
        company = str(uuid.uuid4())
    elif variant.name == "unknown-connection":
        connection = str(uuid.uuid4())
    elif variant.name == "accounting-connection":
        connection = harness.accounting_connection
    values: dict[str, str] = {"companyId": company, "connectionId": connection}
    params = dict(variant.params)
    faults = dict(variant.faults)
    before: Callable[[], None] | None = None
    if op.record:
        name = next(
            p["name"] for p in validator.parameters(op.id) if p["in"] == "path" and p["name"] not in values
        )
        values[name] = (
            "no-such-record" if variant.name == "unknown-record" else _record_id(harness, validator, op.id)
        )
    if op.id == "get-pull-operation":
        known = harness.pull_operations.get(variant.name, harness.pull_operations["complete"])
        values["datasetId"] = str(uuid.uuid4()) if variant.name == "unknown-pull-operation" else known
    if op.id == "refresh-data-type":
        data_type = {
            "ok": "commerce-products",
            "one-connection": "commerce-transactions",
            "already-in-progress": "commerce-payments",
            "unknown-data-type": "commerce-nonsense",
        }.get(variant.name, "commerce-locations")
        values["dataType"] = data_type
        faults.setdefault("sync_seconds", 3600)
        if variant.name == "one-connection":
            params["connectionId"] = harness.refresh_connection
        elif variant.name == "unknown-connection":
            params["connectionId"] = connection
        if variant.name == "already-in-progress":
            first = f"/companies/{company}/data/queue/{data_type}"

            def before() -> None:
                harness.sandbox.set_faults(sync_seconds=3600)
                assert harness.client.post(first).status_code == 200

    if variant.name == "not-synced":
        faults["not_synced"] = [_data_type(template)]
    headers = {"Authorization": harness.sandbox.auth_header}
    if variant.name == "no-authorization":
        headers = {}
    elif variant.name == "wrong-key":
        headers = {"Authorization": "Basic " + base64.b64encode(b"not-the-key").decode()}
    elif variant.name == "not-basic-scheme":
        headers = {"Authorization": "Bearer " + harness.sandbox.api_key}
    path = re.sub(r"\{(\w+)\}", lambda m: quote(values[m.group(1)], safe=""), template)
    for rule in ("rate_limit", "server_error", "forced_error"):
        if rule in faults:  # the gate matches the decoded path
            faults[rule] = {**faults[rule], "path_contains": unquote(path)}
    return Call(method.upper(), path, params, headers, faults, before)


def _data_type(template: str) -> str:
    """The Codat data type of a Commerce path (``commerce-info`` is ``commerce-companyInfo``)."""
    segment = template.split("/data/", 1)[1].split("/", 1)[0]
    return "commerce-companyInfo" if segment == "commerce-info" else segment


def _send(harness: Harness, call: Call) -> httpx.Response:
    if call.before is not None:
        call.before()
    if call.faults:
        harness.sandbox.set_faults(**call.faults)
    request = harness.client.build_request(call.method, call.path, params=call.params)
    del request.headers["Authorization"]
    request.headers.update(call.headers)
    return harness.client.send(request)


# -- checks shared by every response ---------------------------------------------------------------------
def assert_rate_limit_headers(response: httpx.Response) -> None:
    """X-Rate-Limit-Limit/-Remaining are counts; -Reset is a moment in the coming day."""
    missing = [h for h in RATE_LIMIT_HEADERS if h not in response.headers]
    assert not missing, f"{response.status_code} response lacks {missing}"
    limit = int(response.headers["X-Rate-Limit-Limit"])
    remaining = int(response.headers["X-Rate-Limit-Remaining"])
    assert limit > 0 and 0 <= remaining <= limit, (limit, remaining)
    reset = _parse_moment(response.headers["X-Rate-Limit-Reset"])
    now = datetime.now(UTC)
    assert now - timedelta(seconds=5) <= reset <= now + timedelta(days=1, seconds=5), reset


def _parse_moment(value: str) -> datetime:
    if value.isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert moment.tzinfo is not None, f"X-Rate-Limit-Reset {value!r} has no offset"
    return moment


def assert_retry_after(response: httpx.Response, form: str, at_most: timedelta) -> None:
    """Retry-After is present and parseable, as delay-seconds or an HTTP date, in the expected form."""
    value = response.headers.get("Retry-After")
    assert value is not None, "429 without Retry-After"
    now = datetime.now(UTC)
    if form == "seconds":
        assert value.isdigit(), f"Retry-After {value!r} is not delay-seconds"
        wait = timedelta(seconds=int(value))
    else:
        assert not value.isdigit(), f"Retry-After {value!r} is not an HTTP date"
        moment = parsedate_to_datetime(value)
        assert moment.tzinfo is not None and value.endswith("GMT"), value
        wait = moment - now
    assert timedelta(seconds=-2) <= wait <= at_most + timedelta(seconds=2), (value, at_most)


def assert_error_message(body: Any, status: int, validator: SpecValidator) -> None:
    """An error body is a complete ErrorMessage whose statusCode is the response's status.

    Only ``validation`` may be missing, when it would be null (the strict sandbox sends no nulls).
    """
    schema = validator.raw["components"]["schemas"]["ErrorMessage"]
    assert isinstance(body, dict), body
    assert set(body) | {"validation"} == set(schema["properties"]), f"ErrorMessage keys {sorted(body)}"
    assert body.get("validation", {}) is not None, body
    assert body["statusCode"] == status, body
    assert isinstance(body["error"], str) and body["error"], body
    assert isinstance(body["correlationId"], str) and body["correlationId"], body
    assert isinstance(body["canBeRetried"], str), body


# -- the tests ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_strict_response_conforms_to_spec(
    case: Case, harness: Harness, validators: dict[str, SpecValidator], literal: dict[str, SpecValidator]
) -> None:
    """Valid with the spec's ``nullable`` honoured, and as the plain OpenAPI 3.1 it declares."""
    validator = validators[case.operation.api]
    status = case.variant.status
    assert status in validator.declared_statuses(case.operation.id), (
        f"the spec declares no {status} for {case.operation.id}"
    )
    call = _build(case, harness, validator)
    response = _send(harness, call)

    assert response.status_code == status, response.text[:500]
    assert validator.matched_operation(response.request) == case.operation.id
    request_errors = validator.request_errors(response.request)
    if case.variant.request_valid:
        assert request_errors == [], "the spec rejects the request:\n" + "\n".join(request_errors)
    else:
        assert request_errors, "the spec accepts a request the sandbox refused"
    assert response.headers["content-type"].startswith("application/json")
    errors = validator.response_errors(response) + literal[case.operation.api].response_errors(response)
    assert errors == [], f"{len(errors)} spec violations:\n" + "\n".join(errors[:20])
    assert_rate_limit_headers(response)
    if status >= 400:
        assert_error_message(response.json(), status, validator)
    if status == 429:
        if case.variant.name == "daily-quota-spent":
            assert_retry_after(response, "seconds", timedelta(days=1))
        else:
            form = "http-date" if case.variant.name.endswith("http-date") else "seconds"
            assert_retry_after(response, form, timedelta(seconds=RETRY_AFTER_SECONDS))


def test_cases_cover_every_commerce_operation(validators: dict[str, SpecValidator]) -> None:
    covered = {c.operation.id for c in CASES if c.operation.api == "commerce"}
    assert covered == set(validators["commerce"].operations)
    assert len(covered) == 21


def test_platform_operations_exist_in_spec(validators: dict[str, SpecValidator]) -> None:
    served = {
        "list-companies": "get",
        "get-company": "get",
        "list-connections": "get",
        "get-connection": "get",
        "get-company-data-status": "get",
        "refresh-data-type": "post",
        "list-pull-operations": "get",
        "get-pull-operation": "get",
    }
    covered = {c.operation.id for c in CASES if c.operation.api == "platform"}
    assert covered == set(served)
    ops = validators["platform"].operations
    assert {op: ops[op][0] for op in served} == served


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.id for op in OPERATIONS])
def test_cases_cover_every_declared_status(
    operation: Operation, validators: dict[str, SpecValidator]
) -> None:
    tested = {c.variant.status for c in CASES if c.operation == operation}
    assert tested == validators[operation.api].declared_statuses(operation.id)


def test_spec_declares_the_paging_it_is_tested_with(validators: dict[str, SpecValidator]) -> None:
    for operation in OPERATIONS:
        validator = validators[operation.api]
        names = {p["name"] for p in validator.parameters(operation.id)}
        paging = {"page", "pageSize", "query", "orderBy"}
        assert (paging <= names) is operation.paged, (operation.id, names)
        assert (400 in validator.declared_statuses(operation.id)) is (
            operation.paged or operation.id == "refresh-data-type"
        )


def test_normalised_specs_are_valid_openapi(validators: dict[str, SpecValidator]) -> None:
    from openapi_spec_validator import validate

    for validator in validators.values():
        validate(validator.document)


def test_to_oas31_rewrites_nullable() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string", "nullable": True, "enum": ["x"]},
            "b": {"$ref": "#/components/schemas/B", "nullable": True},
            "c": {"type": "integer", "nullable": False},
            "nullable": {"type": "string"},
        },
        "examples": [{"a": None, "nullable": True}],
    }
    assert to_oas31(schema) == {
        "type": "object",
        "properties": {
            "a": {"type": ["string", "null"], "enum": ["x", None]},
            "b": {"anyOf": [{"$ref": "#/components/schemas/B"}, {"type": "null"}]},
            "c": {"type": "integer"},
            "nullable": {"type": "string"},
        },
        "examples": [{"a": None, "nullable": True}],
    }


def test_nullable_error_validation_needs_the_rewrite(commerce_spec: dict[str, Any]) -> None:
    """The sandbox's ``"validation": null`` is valid only once ``nullable`` is honoured."""
    body = {
        "statusCode": 404,
        "service": "PublicApi",
        "error": "Not found",
        "correlationId": "c",
        "validation": None,
        "canBeRetried": "Unknown",
        "detailedErrorCode": 0,
    }
    for document, valid in ((commerce_spec, False), (to_oas31(commerce_spec), True)):
        # the ErrorMessage schema, at the root of a document whose components its $refs point into
        root = {**document["components"]["schemas"]["ErrorMessage"], "components": document["components"]}
        errors = list(jsonschema.Draft202012Validator(root).iter_errors(body))
        assert (errors == []) is valid, errors


@pytest.mark.parametrize("quirks", [True, False], ids=["quirks-on", "quirks-off"])
def test_enum_quirks_are_sent_with_quirks_on_only(
    quirks: bool, tolerant: SpecValidator, validators: dict[str, SpecValidator]
) -> None:
    """The default sandbox sends every tolerated quirk, and nothing else off-schema; the strict one none."""
    with (
        CodatSandbox(companies=2, connections=2, records=RECORDS, quirks=quirks) as sandbox,
        httpx.Client(base_url=sandbox.url, headers={"Authorization": sandbox.auth_header}) as client,
    ):
        replies = [
            client.get(_path(tolerant, quirk.operation, company, connection))
            for quirk in ENUM_QUIRKS
            for company, connection in sandbox.connections
        ]
    assert all(reply.status_code == 200 for reply in replies)
    shown = set().union(*(tolerant.quirks_in(reply) for reply in replies))
    assert shown == ({q.name for q in ENUM_QUIRKS} if quirks else set())
    assert [e for reply in replies for e in tolerant.response_errors(reply)] == []
    if not quirks:
        assert [e for reply in replies for e in validators["commerce"].response_errors(reply)] == []


def test_enum_quirks_are_shown_by_codat_and_refused_by_the_schema(commerce_spec: dict[str, Any]) -> None:
    """Why each quirk is tolerated: Codat's own example data carries it, though its schema refuses it."""
    for quirk in ENUM_QUIRKS:
        enum = resolve_pointer(commerce_spec, quirk.pointer)["enum"]
        assert not set(quirk.values) & set(enum), f"{quirk.name}: the spec now allows it; drop the quirk"
        shown = repr(resolve_pointer(commerce_spec, quirk.shown_in))
        assert all(f"'type': '{value}'" in shown for value in quirk.values), quirk.name


def _path(validator: SpecValidator, operation_id: str, company: str, connection: str) -> str:
    _, template, _ = validator.operations[operation_id]
    return template.format(companyId=company, connectionId=connection)


def test_page_of_5000_echoes_page_size_5000_which_paging_info_caps_at_2000(
    commerce_spec: dict[str, Any],
) -> None:
    """Known spec inconsistency: ``pageSize`` may be 5000, but PagingInfo.pageSize has ``maximum: 2000``.

    A full 5000-record page echoes ``pageSize: 5000``; that one field is the page's only violation.
    """
    validator = SpecValidator(commerce_spec)
    schemas = commerce_spec["components"]
    assert schemas["parameters"]["pageSize"]["schema"]["maximum"] == 5000
    assert schemas["schemas"]["PagingInfo"]["properties"]["pageSize"]["maximum"] == 2000
    with CodatSandbox(records=1, record_counts={"tax_components": 5000}) as sandbox:
        company, connection = sandbox.connections[0]
        path = f"/companies/{company}/connections/{connection}/data/commerce-taxComponents"
        with httpx.Client(base_url=sandbox.url, headers={"Authorization": sandbox.auth_header}) as client:
            full = client.get(path, params={"pageSize": "5000"})
            capped = client.get(path, params={"pageSize": "2000"})
    assert full.status_code == 200 and capped.status_code == 200
    body = full.json()
    assert body["pageSize"] == 5000
    assert len(body["results"]) == 5000
    assert body["totalResults"] == 5000
    assert "next" not in body["_links"]
    assert validator.request_errors(full.request) == []
    errors = validator.response_errors(full)
    assert errors == ["pageSize: 5000 is greater than the maximum of 2000"], errors
    assert validator.response_errors(capped) == []


def test_list_locations_pages_although_the_spec_declares_no_paging(
    harness: Harness, validators: dict[str, SpecValidator]
) -> None:
    """Spec gap: list-locations declares no page/pageSize/query and no 400, yet its examples are paged.

    The sandbox pages locations like every other list; a 200 page validates. Bad paging gets the 400
    ErrorMessage the other lists get, a status the spec does not declare for this operation.
    """
    validator = validators["commerce"]
    assert 400 not in validator.declared_statuses("list-locations")
    _, template, _ = validator.operations["list-locations"]
    path = template.format(companyId=harness.company, connectionId=harness.connection)
    page = harness.client.get(path, params={"page": "2", "pageSize": "7"})
    assert page.status_code == 200
    body = page.json()
    assert (body["pageNumber"], body["pageSize"], len(body["results"])) == (2, 7, 7)
    assert {"next", "previous"} <= set(body["_links"])
    assert validator.response_errors(page) == []
    bad = harness.client.get(path, params={"page": "0"})
    assert bad.status_code == 400
    assert_error_message(bad.json(), 400, validator)


def _list_paths(validator: SpecValidator, company: str, connection: str) -> Iterator[tuple[str, str]]:
    for operation_id, (_, template, _) in validator.operations.items():
        if not template.endswith("}"):
            yield operation_id, template.format(companyId=company, connectionId=connection)


@pytest.mark.parametrize("quirks", [True, False], ids=["quirks-on", "quirks-off"])
def test_every_platforms_records_conform(
    quirks: bool,
    tolerant: SpecValidator,
    validators: dict[str, SpecValidator],
    literal: dict[str, SpecValidator],
) -> None:
    """Each seeded commerce platform (own currency, country, id quirks) lists records the spec accepts.

    With quirks on, only :data:`ENUM_QUIRKS` are tolerated; with quirks off, nothing, read either way.
    """
    checks = [tolerant] if quirks else [validators["commerce"], literal["commerce"]]
    problems: list[str] = []
    with (
        CodatSandbox(companies=4, connections=1, records=RECORDS, seed=7, quirks=quirks) as sandbox,
        httpx.Client(base_url=sandbox.url, headers={"Authorization": sandbox.auth_header}) as client,
    ):
        for company, connection in sandbox.connections:
            for operation_id, path in _list_paths(tolerant, company, connection):
                reply = client.get(path)
                assert reply.status_code == 200, (operation_id, reply.text)
                problems.extend(f"{operation_id}: {e}" for v in checks for e in v.response_errors(reply))
    assert problems == []


@pytest.mark.parametrize("quirks", [True, False], ids=["quirks-on", "quirks-off"])
def test_the_plain_31_reading_refuses_the_nulls_of_quirks_on_only(
    quirks: bool, literal: dict[str, SpecValidator]
) -> None:
    """Read as plain 3.1, the spec refuses the nulls Codat sends; the strict sandbox sends none."""
    with (
        CodatSandbox(records=3, quirks=quirks) as sandbox,
        httpx.Client(base_url=sandbox.url, headers={"Authorization": sandbox.auth_header}) as client,
    ):
        company, connection = sandbox.connections[0]
        replies = {
            "commerce": [
                client.get(f"/companies/{company}/connections/{connection}/data/commerce-orders"),
                client.get(f"/companies/{company}/connections/{uuid.uuid4()}/data/commerce-orders"),
            ],
            "platform": [
                client.get(f"/companies/{company}"),
                client.post(f"/companies/{company}/data/queue/commerce-orders"),
            ],
        }
    refused = {
        error.split(":")[0]
        for api, sent in replies.items()
        for reply in sent
        for error in literal[api].response_errors(reply)
    }
    assert refused == (NULLS_OF_QUIRKS_ON if quirks else set())


NULLS_OF_QUIRKS_ON = {
    *(f"results/{i}/supplementalData/content" for i in range(3)),
    "validation",
    "referenceParentCompany",
    "statusDescription",
    "errorMessage",
}
"""Where the default sandbox sends the nulls that the spec's ``nullable`` marks allow."""


def test_records_whose_references_cannot_resolve_conform(validators: dict[str, SpecValidator]) -> None:
    """With nothing to refer to, references are left out rather than sent as null (they are not nullable)."""
    validator = validators["commerce"]
    empty = (
        "customers",
        "locations",
        "payments",
        "payment_methods",
        "products",
        "product_categories",
        "tax_components",
        "transactions",
    )
    problems: list[str] = []
    with (
        CodatSandbox(records=RECORDS, record_counts=dict.fromkeys(empty, 0), quirks=False) as sandbox,
        httpx.Client(base_url=sandbox.url, headers={"Authorization": sandbox.auth_header}) as client,
    ):
        company, connection = sandbox.connections[0]
        for operation_id, path in _list_paths(validator, company, connection):
            reply = client.get(path)
            assert reply.status_code == 200, (operation_id, reply.text)
            problems.extend(f"{operation_id}: {e}" for e in validator.response_errors(reply))
        orders = client.get(f"/companies/{company}/connections/{connection}/data/commerce-orders").json()
    assert problems == []
    assert orders["totalResults"] == RECORDS
    assert not {"customerRef", "locationRef"} & {key for order in orders["results"] for key in order}
