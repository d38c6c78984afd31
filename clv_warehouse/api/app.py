"""The FastAPI application of ``clv serve`` (docs/api.md).

    GET /health                     open: 200 when a published copy is served, else 503
    GET /customers/{customer_id}    the latest forecast of each model, segments, drivers
    GET /lists/{list_name}          a list in rank order, paged (limit, offset)
    GET /openapi.json, /docs        the OpenAPI document and its browser view (open)

Every error is JSON ``{"error": {"status": ..., "message": ...}}``: 401 without a valid
key, 404 for an unknown customer or list, 422 for a malformed id or paging value, 503
without a published copy, 500 (the traceback goes to the log file, never to the client).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from clv_warehouse.api import queries
from clv_warehouse.api.store import PublishedCopy, Snapshot, Unavailable
from clv_warehouse.messages import one_line

log = logging.getLogger("clv.serve")
API_KEY_HEADER = "X-API-Key"
OPEN_PATHS = frozenset({"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect"})


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def error_response(status: int, message: str, headers: dict[str, str] | None = None):
    return JSONResponse(
        {"error": {"status": status, "message": message}}, status_code=status, headers=headers
    )


def key_is_valid(given: str | None, keys: Sequence[bytes]) -> bool:
    """Whether ``given`` is one of ``keys``, compared in constant time against every key."""
    if not given:
        return False
    candidate = given.encode("utf-8", "surrogateescape")
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(candidate, key)
    return matched


def presented_key(request: Request) -> str | None:
    """The key from ``X-API-Key``, or from ``Authorization: Bearer <key>``."""
    key = request.headers.get(API_KEY_HEADER)
    if key:
        return key
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


class Guard:
    """Pure ASGI middleware (no per-request task, unlike ``@app.middleware``): refuses a
    request without a valid key (401), and turns an unexpected error into a 500 JSON body
    and one log line (the traceback goes to logs/clv.log), never a traceback on the console
    or to the client."""

    def __init__(self, app: Any, keys: Sequence[bytes] | None) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.keys is not None and scope["path"] not in OPEN_PATHS:
            request = Request(scope)
            if not key_is_valid(presented_key(request), self.keys):
                response = error_response(
                    401,
                    "missing or invalid API key: send one of CLV_API_KEYS in the"
                    f" {API_KEY_HEADER} header",
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        started = False

        async def tracking_send(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            from clv_warehouse.cli import _log_traceback

            where = _log_traceback(["serve", scope.get("method", ""), scope.get("path", "")])
            log.error(
                "%s %s failed: %s: %s (traceback in %s)",
                scope.get("method"),
                scope.get("path"),
                type(error).__name__,
                one_line(error)[:300],
                where,
            )
            if not started:
                response = error_response(500, "internal error; the server log says more")
                await response(scope, receive, send)


def _with_security_scheme(app: FastAPI, keys_required: bool) -> None:
    """Name the key header in the OpenAPI document (every data endpoint needs it)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            if keys_required:
                schema.setdefault("components", {})["securitySchemes"] = {
                    "ApiKey": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER}
                }
                for path, operations in schema.get("paths", {}).items():
                    if path not in OPEN_PATHS:
                        for operation in operations.values():
                            operation["security"] = [{"ApiKey": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi


def create_app(published: Path, api_keys: Sequence[str] | None) -> FastAPI:
    """The API over the published copy at ``published``; ``api_keys`` None = no auth."""
    copy = PublishedCopy(published, queries.describe)
    keys = [key.encode("utf-8") for key in api_keys] if api_keys is not None else None
    app = FastAPI(
        title="CLV Warehouse API",
        version="1",
        description=(
            "Customer lifetime value forecasts from the published copy of the warehouse"
            " (read-only). Send the key in the X-API-Key header (or Authorization: Bearer)."
            " /health, /openapi.json and /docs are open."
        ),
        redoc_url=None,
    )
    app.state.copy = copy

    app.add_middleware(Guard, keys=keys)
    _with_security_scheme(app, keys is not None)

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError):
        return error_response(error.status, error.message, error.headers)

    @app.exception_handler(Unavailable)
    async def unavailable(_request: Request, error: Unavailable):
        return error_response(503, str(error))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException):
        return error_response(error.status_code, str(error.detail), error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, error: RequestValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item.get('loc', ())[1:])}: {item.get('msg')}"
            for item in error.errors()
        )
        return error_response(422, problems or "invalid request")

    async def snapshot() -> Snapshot:
        # Lookups take about a millisecond: they run on the event loop, which costs less
        # than a thread hop. Opening a copy takes seconds: that runs in a worker thread.
        current = copy.acquire_nowait()
        if current is None:
            current = await run_in_threadpool(copy.acquire)
        return current

    @app.get("/health", summary="Is a published copy being served? (no key needed)")
    async def health() -> JSONResponse:
        try:
            current = await snapshot()
        except Unavailable as error:
            return JSONResponse(
                {"status": "unavailable", "message": str(error), "published": str(published)},
                status_code=503,
            )
        copy.release(current)
        info = current.info
        return JSONResponse(
            {
                "status": "ok",
                "published": str(published),
                "published_at": info["published_at"],
                "as_of_date": info["as_of_date"],
                "release_id": info["release"]["release_id"],
                "auth": keys is not None,
            }
        )

    @app.get(
        "/customers/{customer_id}",
        summary="The latest forecast of each model for one customer",
        responses={404: {"description": "No such customer"}, 422: {"description": "Malformed"}},
    )
    async def customer(customer_id: str) -> Response:
        problem = queries.malformed_customer_id(customer_id)
        if problem:
            raise ApiError(422, f"malformed customer id: {problem}")
        current = await snapshot()
        try:
            body = queries.read_customer(customer_id, current.info)
        finally:
            copy.release(current)
        if body is None:
            raise ApiError(404, f"no customer {customer_id} in the published copy")
        return Response(body, media_type="application/json")

    @app.get(
        "/lists/{list_name}",
        summary="A customer list in rank order, one page at a time",
        responses={404: {"description": "No such list"}, 422: {"description": "Malformed"}},
    )
    async def customer_list(
        list_name: str,
        limit: Annotated[int, Query(ge=1, le=queries.PAGE_LIMIT_MAX)] = queries.PAGE_LIMIT_DEFAULT,
        offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
    ) -> JSONResponse:
        problem = queries.malformed_list_name(list_name)
        if problem:
            raise ApiError(422, f"malformed list name: {problem}")
        current = await snapshot()
        try:
            body = queries.read_list_page(current.cursor(), list_name, limit, offset, current.info)
        finally:
            copy.release(current)
        if body is None:
            known = ", ".join(queries.KNOWN_LISTS)
            raise ApiError(404, f"no list {list_name}; the lists are {known}")
        return JSONResponse(body)

    return app


logging.getLogger("clv.serve").addHandler(logging.NullHandler())
