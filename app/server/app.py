"""The ASGI application: the routers, the one error shape, and the OpenAPI document."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import __version__
from app.server import (
    routes_accounts,
    routes_activity,
    routes_audiences,
    routes_ingest,
    routes_revenue,
    routes_sources,
    routes_sync,
)
from app.server.database import Database
from app.server.errors import ApiError
from app.server.settings import ServerSettings
from app.server.state import ServerState

log = logging.getLogger(__name__)

DESCRIPTION = """\
The Audience Studio server: mParticle-compatible ingest (`/v2/events`, `/v2/bulkevents`, HTTP Basic
with an input's key and secret), and the sync API the app follows (Bearer token of a user): a
workspace's changes as pages of Arrow IPC streams, and shared audience definitions. See docs/server.md.
"""


def create_app(database: Database, settings: ServerSettings | None = None) -> FastAPI:
    app = FastAPI(title="Audience Studio server", version=__version__, description=DESCRIPTION)
    app.state.server = ServerState(database, settings or ServerSettings())
    for router in (routes_ingest.router, routes_sync.router, routes_audiences.router, routes_revenue.router, routes_accounts.router,
                   routes_sources.router, routes_activity.router):
        app.include_router(router)

    @app.get("/health", tags=["server"], summary="Whether the server is up (no authentication)")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(jsonable_encoder(exc.body()), status_code=exc.status, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Malformed parameters and bodies are 400s naming each field (FastAPI's default is a 422 list)."""
    assert isinstance(exc, RequestValidationError)
    items = []
    for error in exc.errors():
        field = _field_name(error.get("loc", ()))
        items.append({"code": "INVALID_FIELD", "message": f"{field or 'body'}: {error.get('msg', 'invalid')}", "field": field or None})
    return JSONResponse({"errors": items or [{"code": "INVALID_FIELD", "message": "the request is malformed"}]}, status_code=400)


def _field_name(loc: tuple | list) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
    body = {"errors": [{"code": codes.get(exc.status_code, "HTTP_ERROR"), "message": str(exc.detail)}]}
    return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        # Validation errors are answered as 400 (declared on each operation), never FastAPI's 422.
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                operation.get("responses", {}).pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        app.openapi_schema = schema
    return app.openapi_schema
