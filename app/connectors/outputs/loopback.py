"""The one-shot loopback listener of an OAuth sign-in: http://127.0.0.1:<ephemeral port>/callback (RFC 8252 §7.3).

It answers the browser's redirect with a short page, hands the query parameters to the waiting
sign-in, and stops. Bound to 127.0.0.1 only, never to all interfaces, so nothing else on the
network can reach it.
"""

from __future__ import annotations

import html
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CALLBACK_PATH = "/callback"

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Audience Studio</title></head>
<body style="font-family: sans-serif; margin: 3em"><h1>{title}</h1><p>{text}</p></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH:
            self.send_error(404)
            return
        params = {key: values[0] for key, values in parse_qs(parts.query).items()}
        if "error" in params:
            title, text = "Sign-in did not complete", "You can close this window and return to Audience Studio."
        else:
            title, text = "Signed in", "You can close this window and return to Audience Studio."
        body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)
        self.server.answers.put(params)

    def log_message(self, format: str, *args: object) -> None:
        # The default writes the request line, with the authorization code, to stderr.
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers: queue.Queue[dict[str, str]] = queue.Queue()


class LoopbackListener:
    """Listens from construction until `close()`; `wait()` returns the first callback's parameters."""

    def __init__(self) -> None:
        self._server = _Server()
        # A short poll so close() returns at once rather than after serve_forever's default half second.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="oauth-loopback",
                                        daemon=True)
        self._thread.start()

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{CALLBACK_PATH}"

    def wait(self, timeout: float, cancelled: threading.Event | None = None) -> dict[str, str] | None:
        """The callback's query parameters; None on timeout or when `cancelled` is set."""
        waited = 0.0
        step = 0.1
        while waited < timeout:
            if cancelled is not None and cancelled.is_set():
                return None
            try:
                return self._server.answers.get(timeout=step)
            except queue.Empty:
                waited += step
        return None

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "LoopbackListener":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
