"""A channel taxonomy API simulator: a real HTTP server on 127.0.0.1 that behaves like the channels' APIs.

One server plays every channel, each under its own path (`{url}/{channel key}`), so tests point the
`endpoints` override (or AUDIENCE_STUDIO_CHANNEL_ENDPOINTS) at it. It keeps the segments PUT to each channel
by ref and forgets them on DELETE (404 for one it does not have); it checks what a channel checks — a JSON
body with every required field, the ref matching the path, the taxonomy made of name and category, and the
account or seat header a channel was told to expect — and answers 400 or 422 (or 401/403 for the header)
with a JSON error. It can be told to fail the next requests with a status (and a Retry-After, a JSON error
or a body that is not JSON), to refuse every request to one channel until told otherwise, or to stall before
answering, and it records every request it received.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import unquote

from app.models.services.channels import CHANNELS

REQUIRED_FIELDS = ("ref", "name", "category", "taxonomy", "cpm", "cpm_currency")


@dataclass(frozen=True)
class Received:
    """One request as the channel saw it."""

    method: str
    channel: str
    ref: str
    headers: dict[str, str]
    body: Any = None


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Sent as is instead of `body` (to answer something that is not JSON).
    raw: bytes | None = None
    #: Seconds to wait before answering (to outlast the client's read timeout).
    stall: float = 0.0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        answer = self.server.simulator.dispatch(self.command, self.path, dict(self.headers.items()), body)
        if answer.stall:
            time.sleep(answer.stall)
        if answer.raw is not None:
            payload, content_type = answer.raw, "text/html; charset=utf-8"
        else:
            payload = b"" if answer.body is None else json.dumps(answer.body).encode("utf-8")
            content_type = "application/json"
        self.send_response(answer.status)
        for key, value in answer.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, simulator: ChannelSimulator) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.simulator = simulator

    def handle_error(self, request, client_address) -> None:
        pass  # a client that gave up on a stalled answer closed the socket: expected, not news


class ChannelSimulator:
    """See the module docstring. Use as a context manager, or call `close()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripted: list[Answer] = []
        self._expected_headers: dict[str, dict[str, str]] = defaultdict(dict)
        self._refusing: dict[str, Answer] = {}
        #: channel key -> ref -> the segment's JSON body as last PUT
        self.segments: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.received: list[Received] = []
        self._server = _Server(self)
        # A short poll so close() returns at once rather than after serve_forever's default half second.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def endpoint(self, channel_key: str) -> str:
        return f"{self.url}/{channel_key}"

    def endpoints(self) -> dict[str, str]:
        """Every channel of the directory pointed at this simulator (the `endpoints` override)."""
        return {c.key: self.endpoint(c.key) for c in CHANNELS}

    def expect_header(self, channel_key: str, header: str, value: str) -> None:
        """Requests to the channel must carry the header with this value (401 without it, 403 with another)."""
        with self._lock:
            self._expected_headers[channel_key][header] = value

    def fail_next(self, status: int, *, times: int = 1, retry_after: float | None = None, body: Any = None,
                  raw: bytes | None = None) -> None:
        """The next `times` requests answer `status` (with a JSON error unless `body` or `raw` says otherwise)."""
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        answer = Answer(status, body if body is not None else {"error": f"simulated {status}"}, headers, raw)
        with self._lock:
            self._scripted.extend([answer] * times)

    def refuse(self, channel_key: str, status: int, *, body: Any = None) -> None:
        """Every request to the channel answers `status` (with a JSON error) until `accept(channel_key)`."""
        with self._lock:
            self._refusing[channel_key] = Answer(status, body if body is not None else {"error": f"simulated {status}"})

    def accept(self, channel_key: str) -> None:
        with self._lock:
            self._refusing.pop(channel_key, None)

    def stall_next(self, seconds: float, *, times: int = 1) -> None:
        """The next `times` requests are answered (200, unprocessed) only after `seconds`."""
        with self._lock:
            self._scripted.extend([Answer(200, {"ok": True}, stall=seconds)] * times)

    def requests_to(self, channel_key: str, method: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.channel == channel_key and method in (None, r.method)]

    # -- the server side (on the server's threads) -----------------------------------------------------------

    def dispatch(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        parts = path.split("?", 1)[0].strip("/").split("/")
        with self._lock:
            if len(parts) != 3 or parts[1] != "segments":
                self.received.append(Received(method, "", "", headers, None))
                return Answer(404, {"error": f"no such endpoint: {path}"})
            key, ref = parts[0], unquote(parts[2])
            parsed = _json(body)
            self.received.append(Received(method, key, ref, headers, parsed))
            if self._scripted:
                return self._scripted.pop(0)
            if key in self._refusing:
                return self._refusing[key]
            for header, value in self._expected_headers[key].items():
                given = {k.lower(): v for k, v in headers.items()}.get(header.lower())
                if given is None:
                    return Answer(401, {"error": f"missing {header}"})
                if given != value:
                    return Answer(403, {"error": f"{header} {given} may not list segments here"})
            if method == "PUT":
                return self._put(key, ref, body, parsed)
            if method == "DELETE":
                if self.segments[key].pop(ref, None) is None:
                    return Answer(404, {"error": f"no segment {ref}"})
                return Answer(204)
            return Answer(405, {"error": f"{method} is not allowed"})

    def _put(self, key: str, ref: str, body: bytes, segment: Any) -> Answer:
        if not isinstance(segment, dict):
            return Answer(400, {"error": "the body is not a JSON object" if body else "the body is empty"})
        missing = [f for f in REQUIRED_FIELDS if f not in segment]
        if missing:
            return Answer(422, {"error": f"missing field(s): {', '.join(missing)}"})
        if segment["ref"] != ref:
            return Answer(422, {"error": f"ref {segment['ref']} does not match the address ({ref})"})
        if segment["taxonomy"] != f"{segment['name']} | {segment['category']}":
            return Answer(422, {"message": "taxonomy must be '<name> | <category>'"})
        created = ref not in self.segments[key]
        self.segments[key][ref] = segment
        return Answer(201 if created else 200, {"ref": ref})


def _json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
