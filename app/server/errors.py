"""The one error shape every endpoint answers with: `{"errors": [{"code", "message", "field"}]}`."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A request the server refuses: its HTTP status, a stable code, and a message naming what is wrong."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None,
                 headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"errors": [error], **self.extra}
