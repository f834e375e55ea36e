"""The error responses each kind of endpoint declares in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from app.server.api_models import Conflict, ErrorBody


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {
        400: "The request is malformed; the message names the field",
        401: "Missing or wrong credentials",
        403: "The credentials are fine but do not allow this",
        404: "No such audience",
        409: "A conflict: the version moved on, the name is taken, or the cursor is ahead of the server",
        413: "The body is larger than the server accepts",
        415: "The body is not declared JSON (Content-Type application/json or application/*+json)",
        429: "Above the input's rate: wait Retry-After seconds",
    }
    declared: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        declared[status] = {"model": Conflict if status == 409 else ErrorBody, "description": text[status]}
        if status == 429:
            declared[status]["headers"] = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
        if status == 401:
            declared[status]["headers"] = {"WWW-Authenticate": {"description": "The scheme to authenticate with", "schema": {"type": "string"}}}
    return declared
