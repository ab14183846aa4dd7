"""The FastAPI application: routes, authentication, error handling, offline docs.

No ``from __future__ import annotations`` here: FastAPI reads the endpoints' annotations at
run time, and some of the request models are built per application (their limits are
settings).
"""

import contextlib
import functools
import hashlib
import hmac
import html
import json
import logging
import math
import re
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Body, Depends, FastAPI, HTTPException, Query, Request, Security
from fastapi import Path as PathParam
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRouter
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from credit_scoring import __version__ as package_version
from credit_scoring.api.population import UnknownFeatureError
from credit_scoring.api.schemas import (
    EXAMPLE_APPLICATION,
    MAX_CLIENT_ID,
    AdvisorDecisionOut,
    AdvisorDecisionRequest,
    BatchOut,
    ClientApplicationOut,
    ClientListOut,
    CounterfactualOut,
    ErrorOut,
    ExplanationOut,
    FeatureDistributionOut,
    HealthOut,
    ImportanceOut,
    ModelCardOut,
    NeighboursOut,
    PopulationOut,
    ScorecardOut,
    ScoreOut,
    ValidationErrorOut,
    request_models,
    what_if_model,
)
from credit_scoring.api.service import (
    ScorecardUnavailableError,
    Scored,
    ScoringService,
    ServiceUnavailableError,
    UnknownClientError,
)
from credit_scoring.api.settings import ENV_AUTH, ENV_KEY, ENV_KEYS, SCORECARD_FILE, ApiSettings
from credit_scoring.data.schema import CLIENT_ID
from credit_scoring.decision_log import AdvisorDecision, DecisionLog, LogEntry, ModelDecision
from credit_scoring.features.serving import History
from credit_scoring.scoring import DECISION_LABELS_FR, Scorer, probability_from_score

log = logging.getLogger("credit_scoring.api")

API_KEY_HEADER = "X-API-Key"
#: Most field errors listed in one 422 answer (a batch of bad applications has thousands).
MAX_ERRORS = 100
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

DESCRIPTION = """
Scores loan applications for **Prêt à dépenser** with the registered champion model, in the
words of the project's decision contract:

* `probability_default`: calibrated probability of default;
* `threshold`: the probability where refusing becomes cheaper than granting
  (cost of a missed default 10, of a refused good client 1);
* `risk_score`: 0-100, the log-odds scale of credit scoring with the threshold at exactly 50:
  every 10 points by default, the odds of default double (the served model's setting is in
  the `decision_rule` of `GET /v1/model`);
* `decision`: `grant` below the review band (45-55 by default), `review` inside it, bounds
  included (the advisor decides), `refuse` above;
* `reasons`: the features that pushed the score most, in plain French, with their direction;
* `model_version`: the registry version that answered.

**Authentication**: send an API key in the `X-API-Key` header (every endpoint but `/health`
and the documentation). Keys are configured on the server by `CREDIT_SCORING_API_KEYS`.

**Second reading**: `GET /v1/clients/{client_id}/scorecard` gives the points of the
scorecard challenger (a grid of points per attribute, on the risk score's scale) beside the
champion's answer. It decides nothing and is not written to the decision log.

**Errors**: `401` missing or wrong key, `404` unknown client, `422` invalid input (field and
reason listed; also an over-long body or batch), `503` model or data not available.

**Decision log**: every answer and every advisor decision is written to an audit log (model
version, SHA-256 of the model's inputs, output, UTC time); application fields are never
logged. The advisor's `reason` is stored as written: it must hold no personal data.

When the model was trained on the synthetic data twin (see `GET /v1/model`), its answers
concern no real client.
"""

TAGS = [
    {"name": "service", "description": "Liveness and readiness."},
    {"name": "model", "description": "What is served: version, decision settings, metrics."},
    {"name": "clients", "description": "Clients of the production batch, by SK_ID_CURR."},
    {"name": "applications", "description": "Applications posted field by field."},
    {"name": "explanations", "description": "Why a score, and what would change it."},
    {
        "name": "population",
        "description": "The client against the reference clients (training table), as "
        "aggregates only: quantiles, default rates, never a row.",
    },
    {"name": "decisions", "description": "Advisors' decisions, logged for audit."},
]

_COMMON = {
    401: {"model": ErrorOut, "description": "Missing or invalid API key."},
    422: {"model": ValidationErrorOut, "description": "Invalid input: the fields and why."},
    503: {"model": ErrorOut, "description": "Model, data or API keys not available."},
}
_CLIENT = {404: {"model": ErrorOut, "description": "Not a client of the production batch."}}
_FEATURE = {404: {"model": ErrorOut, "description": "Not a numeric feature of the reference."}}
_SCORECARD = {
    404: {
        "model": ErrorOut,
        "description": f"Not a client of the production batch, or no scorecard challenger "
        f"({SCORECARD_FILE}: the train stage that wrote the models predates it).",
    }
}
#: Largest page of GET /v1/clients.
MAX_PAGE = 1000

#: Key figures of the train stage's summary (data/models/summary.json) shown on the card.
CARD_METRICS = (
    "champion",
    "cv_auc",
    "test_auc",
    "test_auc_ci",
    "test_pr_auc",
    "test_brier",
    "test_cost_per_client",
    "test_cost_ci",
    "test_cost_accept_all",
    "test_recall",
    "test_precision",
    "test_refusal_rate",
    "saving_vs_accept_all",
    "threshold",
    "oracle",
    "rows",
)


# --------------------------------------------------------------------------- middleware


class RequestGuard:
    """Pure ASGI middleware: a request id on every answer, and a cap on the body size.

    An over-long body is refused with 422 (the field: ``body``) before it is read: from its
    ``Content-Length``, or while buffering a chunked body up to the cap.
    """

    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = headers.get("x-request-id", "")
        if not _REQUEST_ID.fullmatch(request_id):  # never echo arbitrary text into logs
            request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        length = headers.get("content-length")
        if length is not None:
            if length.isdigit() and int(length) > self.max_body_bytes:
                await self._too_large(send_with_id)
                return
            await self.app(scope, receive, send_with_id)
            return
        if "chunked" not in headers.get("transfer-encoding", "").lower():
            await self.app(scope, receive, send_with_id)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                await self._too_large(send_with_id)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send_with_id)

    async def _too_large(self, send: Callable[[MutableMapping[str, Any]], Awaitable[None]]) -> None:
        error = {
            "loc": ["body"],
            "field": "body",
            "msg": f"request body larger than {self.max_body_bytes} bytes",
            "type": "body_too_large",
        }
        payload = json.dumps({"detail": [error], "truncated": 0}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 422,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


# --------------------------------------------------------------------------- errors


def _field(loc: Sequence[Any]) -> str:
    """``('body', 'application', 'AMT_CREDIT')`` -> ``application.AMT_CREDIT``.

    >>> _field(("body", "applications", 3, "application", "AMT_CREDIT"))
    'applications[3].application.AMT_CREDIT'
    >>> _field(("path", "client_id")), _field(("body",))
    ('client_id', 'body')
    """
    parts = list(loc[1:]) if loc and loc[0] in ("body", "path", "query", "header") else list(loc)
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or (str(loc[0]) if loc else "")


def validation_errors(errors: Sequence[Any]) -> dict[str, Any]:
    """The 422 body: field, message and type of each error; the submitted values are not
    echoed (they may be personal data, or huge)."""
    listed = [
        {
            "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            "field": _field(e.get("loc", ())),
            "msg": str(e.get("msg", "invalid")),
            "type": str(e.get("type", "value_error")),
        }
        for e in errors[:MAX_ERRORS]
    ]
    return {"detail": listed, "truncated": max(0, len(errors) - MAX_ERRORS)}


class UnknownDecisionError(LookupError):
    """A decision_id that names no model answer of the client (404)."""


def _install_error_handlers(app: FastAPI) -> None:
    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse(validation_errors(exc.errors()), status_code=422)

    async def unknown(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        request_id = getattr(request.state, "request_id", "?")
        log.exception(
            "unexpected error on %s %s (request %s)", request.method, request.url.path, request_id
        )
        return JSONResponse(
            {"detail": f"internal server error (request {request_id})"}, status_code=500
        )

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:  # FastAPI could not decode the body (not UTF-8, too deep)
            error = {"type": "json_invalid", "loc": ("body",), "msg": f"{exc.detail}"}
            return JSONResponse(validation_errors([error]), status_code=422)
        return await http_exception_handler(request, exc)

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(UnknownClientError, unknown)
    app.add_exception_handler(UnknownDecisionError, unknown)
    app.add_exception_handler(ServiceUnavailableError, unavailable)
    app.add_exception_handler(Exception, crashed)


def _body_error(field: str, msg: str, value: Any = None) -> RequestValidationError:
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body", field), "msg": msg, "input": value}]
    )


def _histories(items: Sequence[Any]) -> list[History | None] | None:
    """The posted histories of requests (None when none posted one)."""
    if all(item.history is None for item in items):
        return None
    return [
        None
        if item.history is None
        else {t: rows for t, rows in item.history.model_dump().items() if rows is not None}
        for item in items
    ]


# --------------------------------------------------------------------------- authentication


def fingerprint(key: str) -> str:
    """A non-secret name for an API key, logged as the caller (12 hex digits of SHA-256).

    >>> fingerprint("test-key")
    '62af8704764f'
    """
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


api_key_scheme = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="An API key configured on the server (CREDIT_SCORING_API_KEYS).",
)


async def authenticate(
    request: Request, api_key: Annotated[str | None, Security(api_key_scheme)] = None
) -> str | None:
    """The caller's key fingerprint; 401 without a valid key, 503 when none is configured."""
    settings: ApiSettings = request.app.state.settings
    if not settings.auth:
        return None
    keys: dict[str, str] = request.app.state.api_keys
    if not keys:
        raise HTTPException(
            503,
            f"authentication is on but no API key is configured: set {ENV_KEYS} "
            f"(comma-separated) or {ENV_KEY} on the server, or {ENV_AUTH}=off for local use",
        )
    if not api_key:
        raise HTTPException(
            401, f"missing {API_KEY_HEADER} header", headers={"WWW-Authenticate": "APIKey"}
        )
    given = api_key.encode("utf-8")
    for key, name in keys.items():
        if hmac.compare_digest(given, key.encode("utf-8")):
            return name
    raise HTTPException(401, "invalid API key", headers={"WWW-Authenticate": "APIKey"})


Caller = Annotated[str | None, Depends(authenticate)]


async def get_service(request: Request) -> ScoringService:
    # async: a plain function would cost every request a hop to the thread pool.
    service: ScoringService = request.app.state.service
    return service


Service = Annotated[ScoringService, Depends(get_service)]
ClientIdPath = Annotated[
    int,
    PathParam(
        gt=0,
        le=MAX_CLIENT_ID,
        description="SK_ID_CURR of a client of the production batch.",
        examples=[100001],
    ),
]
Explain = Annotated[bool, Query(description="Add the reasons (SHAP, in French) to each answer.")]
Top = Annotated[int, Query(ge=1, le=10, description="Reasons returned per client.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Largest number of ids returned.")]
Offset = Annotated[
    int, Query(ge=0, le=MAX_CLIENT_ID, description="Ids skipped (of those matching the prefix).")
]
Prefix = Annotated[
    str,
    Query(
        pattern=r"^[0-9]{0,19}$",
        description="Only the ids whose decimal form starts with these digits (empty: all).",
    ),
]
FeaturePath = Annotated[
    str,
    PathParam(
        pattern=r"^[A-Za-z0-9_]{1,100}$",
        description="A numeric feature of the model's training table, e.g. AMT_CREDIT.",
        examples=["AMT_CREDIT"],
    ),
]


# --------------------------------------------------------------------------- helpers


def _score_out(scored: Scored, decision_id: int) -> dict[str, Any]:
    out = scored.result.to_dict()
    out["decision_label"] = DECISION_LABELS_FR[scored.result.decision]
    out["decision_id"] = decision_id
    return out


async def _answer(answer: Callable[[], dict[str, Any]], *, inline: bool) -> dict[str, Any]:
    """``answer()`` on the event loop when ``inline`` (look-ups or one in-memory application:
    cheaper than the hops to the thread pool and back), else in the pool, where slower work
    (files read on a first call, reasons, posted histories through SQL) leaves the other
    requests served meanwhile."""
    if inline:
        return answer()
    return await run_in_threadpool(answer)


def _log_answers(
    app: FastAPI, answers: Sequence[Scored], source: str, request: Request, caller: str | None
) -> list[int]:
    """Write the answers to the decision log before they are sent: an answer that cannot be
    logged is not given (503)."""
    entries = [
        ModelDecision(
            client_id=s.result.client_id,
            inputs_sha256=s.inputs_sha256,
            model_version=s.result.model_version,
            probability_default=s.result.probability_default,
            risk_score=s.result.risk_score,
            decision=s.result.decision,
            threshold=s.result.threshold,
            source=source,
            review_band=s.result.review_band,
            request_id=getattr(request.state, "request_id", None),
            caller=caller,
        )
        for s in answers
    ]
    try:
        return _decision_log(app).record_model(entries)
    except Exception as error:
        log.exception("decision log write failed")
        raise ServiceUnavailableError(f"decision log unavailable: {error}") from error


def _decision_log(app: FastAPI) -> DecisionLog:
    current: DecisionLog | None = app.state.decision_log
    if current is None:
        with app.state.log_lock:
            current = app.state.decision_log
            if current is None:
                current = app.state.decision_log = DecisionLog(app.state.settings.decision_log)
    return current


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return _finite(data) if isinstance(data, dict) else None


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as None: JSON answers cannot hold them.

    >>> _finite({"a": [1.0, float("nan")], "b": {"c": float("inf")}})
    {'a': [1.0, None], 'b': {'c': None}}
    """
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@functools.cache
def _feature_labels() -> dict[str, str]:
    from credit_scoring.features import feature_dictionary

    return dict(feature_dictionary()[["name", "label_fr"]].itertuples(index=False))


def _counterfactual_bounds(settings: ApiSettings) -> dict[str, Any] | None:
    try:
        import yaml

        params = yaml.safe_load(Path(settings.params_file).read_text(encoding="utf-8")) or {}
    except (OSError, ValueError):
        return None
    bounds = (params.get("explain") or {}).get("counterfactual")
    return dict(bounds) if isinstance(bounds, dict) else None


# --------------------------------------------------------------------------- docs


def _swagger_assets() -> Path | None:
    """Swagger UI and ReDoc files shipped by the ``fastapi-offline`` package, if installed."""
    try:
        import fastapi_offline  # type: ignore[import-not-found]
    except ImportError:
        return None
    static = Path(fastapi_offline.__file__).parent / "static"
    return static if (static / "swagger-ui-bundle.js").is_file() else None


def _offline_page(schema: dict[str, Any]) -> str:
    """A documentation page without any script or remote asset, from the OpenAPI schema."""
    rows = []
    for path, operations in schema.get("paths", {}).items():
        for method, op in operations.items():
            codes = ", ".join(sorted(op.get("responses", {})))
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}"
                f"</code></td><td><b>{html.escape(op.get('summary', ''))}</b><br>"
                f"{html.escape(op.get('description', '')).replace(chr(10), '<br>')}</td>"
                f"<td>{html.escape(codes)}</td></tr>"
            )
    info = schema.get("info", {})
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(info.get("title", ""))}</title>
<style>body{{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.4em;vertical-align:top}}
</style></head><body>
<h1>{html.escape(info.get("title", ""))} <small>{html.escape(info.get("version", ""))}</small></h1>
<p>The interactive documentation needs the <code>fastapi-offline</code> package (Swagger UI
files served locally); this page lists the endpoints. The machine-readable description is
<a href="/openapi.json">/openapi.json</a>.</p>
<pre style="white-space:pre-wrap">{html.escape(info.get("description", ""))}</pre>
<table><tr><th>method</th><th>path</th><th>what</th><th>answers</th></tr>
{"".join(rows)}
</table></body></html>"""


def _integer_bounds(node: Any) -> Any:
    """FastAPI's OpenAPI model stores every bound as a float: 2**63 - 1 becomes 2**63, a
    bound the server refuses. Integer fields get their bounds back as inclusive integers.

    Examples
    --------
    >>> _integer_bounds({"type": "integer", "exclusiveMinimum": 0.0, "maximum": 2.0**63})
    {'type': 'integer', 'maximum': 9223372036854775807, 'minimum': 1}
    """
    if isinstance(node, dict):
        if node.get("type") == "integer":
            for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                value = node.get(key)
                if isinstance(value, float):
                    node[key] = MAX_CLIENT_ID if value >= MAX_CLIENT_ID else int(value)
            # Inclusive bounds read the same in every JSON Schema draft (in OpenAPI 3.0's,
            # exclusiveMinimum is a flag): an integer above 0 is one of at least 1.
            if "exclusiveMinimum" in node:
                node["minimum"] = node.pop("exclusiveMinimum") + 1
            if "exclusiveMaximum" in node:
                node["maximum"] = node.pop("exclusiveMaximum") - 1
        for value in node.values():
            _integer_bounds(value)
    elif isinstance(node, list):
        for value in node:
            _integer_bounds(value)
    return node


def _first_known_client(settings: ApiSettings) -> int | None:
    import pyarrow.parquet as pq

    path = Path(settings.production_file)
    if not path.is_file():
        return None
    ids = pq.read_table(path, columns=[CLIENT_ID]).column(CLIENT_ID)
    return int(ids[0].as_py()) if len(ids) else None


def _install_openapi(app: FastAPI, settings: ApiSettings) -> None:
    """The schema, generated once: integer bounds as integers, and a client of the served
    production batch as the example of every ``client_id`` path parameter, so that a
    request built from the examples reaches a real client."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = _integer_bounds(generate())
            example = _first_known_client(settings)
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    for parameter in operation.get("parameters", []):
                        if example is not None and parameter.get("name") == "client_id":
                            parameter["schema"]["examples"] = [example]
                            parameter["examples"] = {"known": {"value": example}}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _install_docs(app: FastAPI) -> None:
    assets = _swagger_assets()
    title = app.title
    if assets is not None:
        from fastapi.staticfiles import StaticFiles

        app.mount("/docs/assets", StaticFiles(directory=assets), name="docs-assets")

        @app.get("/docs", include_in_schema=False)
        async def swagger(request: Request) -> HTMLResponse:
            root = request.scope.get("root_path", "")
            return get_swagger_ui_html(
                openapi_url=f"{root}/openapi.json",
                title=f"{title} - Swagger UI",
                swagger_js_url=f"{root}/docs/assets/swagger-ui-bundle.js",
                swagger_css_url=f"{root}/docs/assets/swagger-ui.css",
                swagger_favicon_url=f"{root}/docs/assets/favicon.png",
                swagger_ui_parameters={
                    "defaultModelsExpandDepth": 0,
                    "displayRequestDuration": True,
                    # Swagger UI would send the schema to swagger.io's online validator.
                    "validatorUrl": None,
                },
            )

        @app.get("/redoc", include_in_schema=False)
        async def redoc(request: Request) -> HTMLResponse:
            root = request.scope.get("root_path", "")
            return get_redoc_html(
                openapi_url=f"{root}/openapi.json",
                title=f"{title} - ReDoc",
                redoc_js_url=f"{root}/docs/assets/redoc.standalone.js",
                redoc_favicon_url=f"{root}/docs/assets/favicon.png",
                with_google_fonts=False,
            )

    else:

        @app.get("/docs", include_in_schema=False)
        async def docs_page() -> HTMLResponse:
            return HTMLResponse(_offline_page(app.openapi()))


# --------------------------------------------------------------------------- the app


def create_app(
    scorer: Scorer | Callable[[], Scorer] | None = None,
    explainer: Any | None = None,
    settings: ApiSettings | None = None,
) -> FastAPI:
    """The scoring API.

    Parameters
    ----------
    scorer
        The scorer to serve, or a function that returns it; default:
        ``models:/<name>@<alias>`` from the MLflow store. Loaded at startup (or on first use
        when the app runs without its lifespan).
    explainer
        Its :class:`~credit_scoring.explain.Explainer`; default: built on first use.
    settings
        Paths, authentication and limits; default :meth:`ApiSettings.from_env`.

    Examples
    --------
    >>> app = create_app(settings=ApiSettings(auth=False))
    >>> "/v1/applications/score" in app.openapi()["paths"]
    True
    """
    settings = settings or ApiSettings.from_env()
    service = ScoringService(settings, scorer=scorer, explainer=explainer)
    models = request_models(settings.max_batch_clients, settings.max_batch_applications)
    ApplicationRequest = models["ApplicationRequest"]
    ApplicationBatchRequest = models["ApplicationBatchRequest"]
    ClientBatchRequest = models["ClientBatchRequest"]
    WhatIfRequest = what_if_model()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.load_at_startup:
            # A server without model still answers /health (503) and says why.
            with contextlib.suppress(ServiceUnavailableError):
                await anyio.to_thread.run_sync(service.load)
        yield
        service.close()
        if app.state.decision_log is not None:
            app.state.decision_log.close()
            app.state.decision_log = None

    app = FastAPI(
        title="Prêt à dépenser - credit scoring API",
        version=package_version,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = service
    app.state.api_keys = {k: fingerprint(k) for k in settings.api_keys}
    app.state.decision_log = None
    app.state.log_lock = threading.Lock()
    app.state.counterfactual_bounds = _counterfactual_bounds(settings)
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes)
    _install_error_handlers(app)
    _install_docs(app)

    # ------------------------------------------------------------------ open endpoints

    @app.get(
        "/health",
        tags=["service"],
        summary="Liveness and readiness",
        response_model=HealthOut,
        responses={503: {"model": HealthOut, "description": "No model loaded (detail says why)."}},
    )
    def health() -> JSONResponse:
        """Whether a model is loaded, which one, and what is precomputed. 503 when the
        model cannot be loaded."""
        detail = None
        try:
            service.load()
        except ServiceUnavailableError as error:
            detail = str(error)
        out = HealthOut(
            status="ok" if service.loaded else "unavailable",
            model_loaded=service.loaded,
            model_version=service.scorer.model_version if service.loaded else None,
            production_clients=service.production_clients,
            scores_precomputed=service.scores_precomputed,
            precomputed_explanations=service.precomputed_explanations,
            auth=settings.auth,
            detail=detail,
        )
        return JSONResponse(out.model_dump(), status_code=200 if service.loaded else 503)

    # ------------------------------------------------------------------ protected endpoints

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(authenticate)], responses=_COMMON)

    @v1.get("/model", tags=["model"], summary="The model card", response_model=ModelCardOut)
    def model_card(service: Service) -> dict[str, Any]:
        """The served model: version, threshold, review band, key metrics of its training
        run (from ``data/models/summary.json``), data origin (twin or real) and features."""
        scorer = service.scorer
        low, high = scorer.review_band
        metrics = _read_json(Path(settings.models_dir) / "summary.json")
        data = _read_json(Path(settings.metrics_dir) / "data.json") or {}
        origin = data.get("origin")
        labels = _feature_labels()
        return {
            "model_name": settings.model_name,
            "model_version": scorer.model_version,
            "alias": settings.model_alias,
            "threshold": scorer.threshold,
            "review_band": [low, high],
            "review_band_probabilities": [
                probability_from_score(low, scorer.threshold, scorer.points_to_double_odds),
                probability_from_score(high, scorer.threshold, scorer.points_to_double_odds),
            ],
            "decision_rule": (
                f"grant when the risk score is below {low:g}, review from {low:g} to "
                f"{high:g} (bounds included: the advisor decides), refuse above {high:g}; "
                f"the score is 50 at the probability threshold {scorer.threshold:.4f} and "
                f"the odds of default double every {scorer.points_to_double_odds:g} points"
            ),
            "data_origin": origin,
            "data_note": (
                "trained on the synthetic data twin: its answers concern no real client"
                if origin == "twin"
                else None
            ),
            "metrics": ({k: metrics[k] for k in CARD_METRICS if k in metrics} if metrics else None),
            "feature_count": len(scorer.features),
            "features": [{"name": f, "label_fr": labels.get(f, f)} for f in scorer.features],
            "production_clients": service.production_clients,
        }

    @v1.get(
        "/clients",
        tags=["clients"],
        summary="List the clients of the production batch",
        response_model=ClientListOut,
    )
    async def list_clients(
        service: Service, limit: Limit = 100, offset: Offset = 0, prefix: Prefix = ""
    ) -> dict[str, Any]:
        """The SK_ID_CURR of the production batch's clients (the known clients), in
        increasing order, ``limit`` at most from ``offset``; ``prefix`` keeps the ids whose
        decimal form starts with it (an advisor's search). ``total`` counts every match."""
        if not service.loaded:
            await run_in_threadpool(service.load)
        total, ids = service.client_ids(prefix, offset, limit)
        return {"total": total, "offset": offset, "limit": limit, "client_ids": ids}

    @v1.get(
        "/clients/{client_id}/application",
        tags=["clients"],
        summary="The fields of a known client's application an advisor needs",
        response_model=ClientApplicationOut,
        responses=_CLIENT,
    )
    def client_application(client_id: ClientIdPath, service: Service) -> dict[str, Any]:
        """The contract type, credit amount, annuity, goods price and income of the
        client's stored application (null when missing): what the advisor's screen shows
        and the what-if changes. No other field of the application is served (GDPR
        minimisation: nothing on identity, family or contact)."""
        return _finite({"client_id": client_id, **service.application(client_id)})

    @v1.post(
        "/clients/{client_id}/what-if",
        tags=["clients"],
        summary="Score a known client's application with changed amounts",
        response_model=ScoreOut,
        responses=_CLIENT,
    )
    async def what_if(
        client_id: ClientIdPath,
        body: WhatIfRequest,  # type: ignore[valid-type]
        request: Request,
        service: Service,
        caller: Caller,
    ) -> dict[str, Any]:
        """The score of the client's stored application with the amounts given changed
        (credit, annuity, goods price, income), every other field as stored and the
        client's history joined: the advisor's « et si » without the application leaving
        the server. An empty body scores the stored application."""
        changes = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]

        def answer() -> dict[str, Any]:
            scored = service.what_if(client_id, changes)
            [decision_id] = _log_answers(app, [scored], "what-if", request, caller)
            return _score_out(scored, decision_id)

        return await _answer(answer, inline=service.serving_warm)

    @v1.get(
        "/clients/{client_id}/neighbours",
        tags=["population"],
        summary="A known client against its most similar reference clients",
        response_model=NeighboursOut,
        responses=_CLIENT,
    )
    def client_neighbours(client_id: ClientIdPath, service: Service) -> dict[str, Any]:
        """The reference clients (training table, outcome known) most similar to this
        client on the key features (each scaled by its median and interquartile range),
        described by aggregates only: their default rate and the quantiles of each key
        feature; with the client's own values and rank among all reference clients."""
        return _finite(service.neighbours(client_id).to_dict())

    @v1.get(
        "/population",
        tags=["population"],
        summary="The reference population of the comparisons",
        response_model=PopulationOut,
    )
    def population(service: Service) -> dict[str, Any]:
        """Size and default rate of the reference clients (a fixed sample of the training
        table), the key features compared (most important first) and the number of
        similar clients described per client."""
        found = service.population
        labels = _feature_labels()
        data = _read_json(Path(settings.metrics_dir) / "data.json") or {}
        return _finite(
            {
                "clients": found.size,
                "default_rate": found.default_rate,
                "neighbours": found.k,
                "key_features": [
                    {"name": f, "label_fr": labels.get(f, f)} for f in found.key_features
                ],
                "data_origin": data.get("origin"),
            }
        )

    @v1.get(
        "/population/{feature}",
        tags=["population"],
        summary="One feature over all, repaid and defaulted reference clients",
        response_model=FeatureDistributionOut,
        responses=_FEATURE,
    )
    def feature_distribution(feature: FeaturePath, service: Service) -> dict[str, Any]:
        """Quantiles (5 % to 95 %), mean and counts of a numeric feature over all reference
        clients, those who repaid and those who defaulted. Aggregates only: a group of
        fewer than 10 values gets no quantiles."""
        try:
            found = service.distribution(feature)
        except UnknownFeatureError as error:
            raise HTTPException(404, str(error)) from None
        labels = _feature_labels()
        return _finite({**found.to_dict(), "label_fr": labels.get(feature, feature)})

    @v1.get(
        "/model/importance",
        tags=["model"],
        summary="The model's global importance",
        response_model=ImportanceOut,
    )
    def importance(service: Service) -> dict[str, Any]:
        """Each feature's share of the total mean absolute SHAP value, largest first, from
        the explain stage (``importance.csv``, else the precomputed explanations)."""
        labels = _feature_labels()
        shares = service.importance
        return {
            "features": [
                {"name": str(f), "label_fr": labels.get(str(f), str(f)), "share": float(v)}
                for f, v in shares.items()
                if math.isfinite(float(v))
            ]
        }

    @v1.get(
        "/clients/{client_id}/score",
        tags=["clients"],
        summary="Score a known client",
        response_model=ScoreOut,
        responses=_CLIENT,
    )
    async def score_client(
        client_id: ClientIdPath,
        request: Request,
        service: Service,
        caller: Caller,
        explain: Explain = False,
        top: Top = 5,
    ) -> dict[str, Any]:
        """Score a client of the production batch (application_test) by SK_ID_CURR, from
        the features computed by the pipeline. ``explain=true`` adds the reasons."""

        def answer() -> dict[str, Any]:
            [scored] = service.score_clients([client_id], explain=top if explain else 0)
            [decision_id] = _log_answers(app, [scored], "client", request, caller)
            return _score_out(scored, decision_id)

        return await _answer(
            answer, inline=service.loaded and service.scores_precomputed and not explain
        )

    @v1.post(
        "/clients/score",
        tags=["clients"],
        summary="Score a batch of known clients",
        response_model=BatchOut,
        responses=_CLIENT,
    )
    def score_clients(
        body: ClientBatchRequest,  # type: ignore[valid-type]
        request: Request,
        service: Service,
        caller: Caller,
        explain: Explain = False,
        top: Top = 5,
    ) -> dict[str, Any]:
        """Score up to ``max_batch_clients`` clients of the production batch, answers in
        the order asked. One unknown client fails the whole batch (404, the unknown ids
        listed)."""
        ids = body.client_ids  # type: ignore[attr-defined]
        answers = service.score_clients(ids, explain=top if explain else 0)
        decision_ids = _log_answers(app, answers, "client-batch", request, caller)
        results = [_score_out(s, d) for s, d in zip(answers, decision_ids, strict=True)]
        return {"count": len(results), "results": results}

    @v1.post(
        "/applications/score",
        tags=["applications"],
        summary="Score a posted application",
        response_model=ScoreOut,
    )
    async def score_application(
        body: Annotated[
            ApplicationRequest,  # type: ignore[valid-type]
            Body(
                openapi_examples={
                    "known client": {
                        "summary": "A new application of a known client (history joined)",
                        "value": {"client_id": 100001, "application": EXAMPLE_APPLICATION},
                    },
                    "new client": {
                        "summary": "An application of a new client (no history)",
                        "value": {"application": EXAMPLE_APPLICATION},
                    },
                }
            ),
        ],
        request: Request,
        service: Service,
        caller: Caller,
        explain: Explain = False,
        top: Top = 5,
    ) -> dict[str, Any]:
        """Score an application given field by field (the columns of application_test).
        The features are built by the same code as in training; with a ``client_id`` the
        client's stored history is joined, without it the client has no history. A posted
        ``history`` (records of the bureau, previous applications, balances and payments, in
        the columns of the Home Credit tables) replaces the stored one."""

        def answer() -> dict[str, Any]:
            [scored] = service.score_applications(
                [body.application.model_dump()],  # type: ignore[attr-defined]
                [body.client_id],  # type: ignore[attr-defined]
                explain=top if explain else 0,
                histories=_histories([body]),
            )
            [decision_id] = _log_answers(app, [scored], "application", request, caller)
            return _score_out(scored, decision_id)

        posted_history = body.history is not None  # type: ignore[attr-defined]
        return await _answer(
            answer, inline=service.serving_warm and not explain and not posted_history
        )

    @v1.post(
        "/applications/score-batch",
        tags=["applications"],
        summary="Score a batch of posted applications",
        response_model=BatchOut,
    )
    def score_application_batch(
        body: ApplicationBatchRequest,  # type: ignore[valid-type]
        request: Request,
        service: Service,
        caller: Caller,
        explain: Explain = False,
        top: Top = 5,
    ) -> dict[str, Any]:
        """Score up to ``max_batch_applications`` applications at once, answers in order."""
        items = body.applications  # type: ignore[attr-defined]
        answers = service.score_applications(
            [item.application.model_dump() for item in items],
            [item.client_id for item in items],
            explain=top if explain else 0,
            histories=_histories(items),
        )
        decision_ids = _log_answers(app, answers, "application-batch", request, caller)
        results = [_score_out(s, d) for s, d in zip(answers, decision_ids, strict=True)]
        return {"count": len(results), "results": results}

    @v1.get(
        "/clients/{client_id}/explanation",
        tags=["explanations"],
        summary="Explain a known client's score",
        response_model=ExplanationOut,
        responses=_CLIENT,
    )
    def explanation(
        client_id: ClientIdPath, request: Request, service: Service, caller: Caller, top: Top = 5
    ) -> dict[str, Any]:
        """The client's score with its reasons in French and the SHAP value of every
        feature: looked up in the explain stage's precomputed batch when it explains the
        served model, computed otherwise."""
        [scored] = service.score_clients([client_id])
        [(found, source)] = service.explain_clients([client_id], top=top)
        _log_answers(app, [scored], "explanation", request, caller)
        result = scored.result
        return {
            "client_id": client_id,
            "model_version": result.model_version,
            "source": source,
            "probability_default": result.probability_default,
            "risk_score": result.risk_score,
            "decision": result.decision,
            "base_value": found.base_value,
            "log_odds": found.log_odds,
            "reasons": [r.to_dict() for r in found.reasons],
            "shap_values": found.contributions,
            "value_texts": found.value_texts,
        }

    @v1.get(
        "/clients/{client_id}/scorecard",
        tags=["explanations"],
        summary="A second reading of a known client: the scorecard challenger's points",
        response_model=ScorecardOut,
        responses=_SCORECARD,
    )
    def client_scorecard(client_id: ClientIdPath, service: Service) -> dict[str, Any]:
        """The points the scorecard challenger of the train stage (``scorecard.json``) gives
        the client, from the same features as the client's score: the base points, then one
        attribute per feature of the scorecard (the client's bin, value and points, largest
        absolute points first), their total, the score (the total clipped to 0-100, 50 at the
        scorecard's own threshold) and what the served model's review band would make of it.
        A challenger's reading only: it decides nothing and is not written to the decision
        log. 404 when the train stage wrote no scorecard."""
        try:
            reading = service.scorecard_reading(client_id)
        except ScorecardUnavailableError as error:
            raise HTTPException(404, str(error)) from None
        return _finite(reading.to_dict())

    @v1.get(
        "/clients/{client_id}/counterfactual",
        tags=["explanations"],
        summary="What would get a known client's application granted",
        response_model=CounterfactualOut,
        responses=_CLIENT,
    )
    def counterfactual(
        client_id: ClientIdPath, request: Request, service: Service, caller: Caller
    ) -> dict[str, Any]:
        """The smallest change of credit amount (down payment or cheaper goods) and term
        that turns the decision into ``grant``, everything else held fixed, re-scored by
        the serving path; or, when none within realistic bounds does, the best reachable."""
        [scored] = service.score_clients([client_id])
        try:
            found = service.counterfactual(client_id, app.state.counterfactual_bounds)
        except ValueError as error:
            raise _body_error("client_id", f"no counterfactual for this client: {error}") from error
        _log_answers(app, [scored], "counterfactual", request, caller)
        return {**found.to_dict(), "model_version": scored.result.model_version}

    @v1.post(
        "/clients/{client_id}/decision",
        tags=["decisions"],
        summary="Record an advisor's decision",
        status_code=201,
        response_model=AdvisorDecisionOut,
        responses={
            404: {
                "model": ErrorOut,
                "description": "Unknown client, or a decision_id that is not one of its model "
                "answers.",
            }
        },
    )
    def record_decision(
        client_id: ClientIdPath,
        body: AdvisorDecisionRequest,
        request: Request,
        service: Service,
        caller: Caller,
    ) -> dict[str, Any]:
        """Record what an advisor decided for a client, typically one the model sent to
        review, with the reason (required). It is linked to the model answer it rules on
        (``decision_id``, default the client's latest) and logged; reversing a firm
        ``grant`` or ``refuse`` counts as an override."""
        decisions = _decision_log(app)
        model_entry: LogEntry | None
        if body.decision_id is not None:
            model_entry = decisions.get(body.decision_id)
            if (
                model_entry is None
                or model_entry.kind != "model"
                or model_entry.client_id != client_id
            ):
                raise UnknownDecisionError(
                    f"decision_id {body.decision_id} is not a model answer for client {client_id}"
                )
        else:
            model_entry = decisions.latest_model_answer(client_id)
        if model_entry is None:
            if not service.is_known(client_id):
                raise UnknownClientError([client_id])
            [scored] = service.score_clients([client_id])
            [entry_id] = _log_answers(app, [scored], "review", request, caller)
            model_entry = decisions.get(entry_id)
            assert model_entry is not None
        entry = decisions.record_advisor(
            AdvisorDecision(
                client_id=client_id,
                decision=body.decision,
                reason=body.reason,
                advisor_id=body.advisor_id,
                model_entry_id=model_entry.id,
                request_id=getattr(request.state, "request_id", None),
                caller=caller,
            )
        )
        return {
            "decision_id": entry.id,
            "client_id": client_id,
            "decision": entry.decision,
            "model_decision": entry.model_decision,
            "model_decision_id": model_entry.id,
            "model_version": entry.model_version,
            "override": entry.override,
            "logged_at": entry.logged_at,
        }

    app.include_router(v1)
    _install_openapi(app, settings)
    return app


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    workers: int = 1,
    log_level: str = "info",
    settings: ApiSettings | None = None,
) -> None:
    """Run the API with uvicorn until interrupted (the ``credit-scoring api`` command).

    Parameters
    ----------
    host, port
        Where to listen; the default host serves this machine only.
    workers
        Processes; each loads its own model and production batch (memory times
        ``workers``), and settings then come from the environment.
    log_level
        uvicorn's log level.
    settings
        The settings (one worker only); default from the environment.
    """
    import uvicorn

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "server_header": False,
        "proxy_headers": False,
    }
    if workers > 1:
        if settings is not None:
            raise ValueError("settings cannot be passed to several workers: use the environment")
        uvicorn.run("credit_scoring.api:create_app", factory=True, workers=workers, **common)
        return
    uvicorn.run(create_app(settings=settings), **common)
