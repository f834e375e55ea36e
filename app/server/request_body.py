"""Reading a request's body with a size limit: refused (413) as soon as it passes the limit, so an
oversize upload is never held whole in memory."""

from __future__ import annotations

from fastapi import Request

from app.server.errors import ApiError


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, or 413 TOO_LARGE when its declared or actual length passes `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "TOO_LARGE", f"the body is {int(declared):,} bytes; the limit is {limit:,}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "TOO_LARGE", f"the body is larger than the limit of {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
