"""The one-shot loopback listener of an OAuth sign-in: http://127.0.0.1:<ephemeral port>/callback (RFC 8252 §7.3).

It hands the callback's query parameters to the waiting sign-in and answers the browser with what
became of them: the page waits (up to VERDICT_SECONDS) until the sign-in says whether it worked
(`tell`), so it reads "Signed in" only once the tokens are in hand, and "Sign-in failed" with the
reason when the answer was refused (state missing or different, an `error=` per RFC 6749 §4.1.2.1)
or the token exchange failed. Bound to 127.0.0.1 only, never to all interfaces, so nothing else on
the network can reach it.
"""

from __future__ import annotations

import html
import queue
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CALLBACK_PATH = "/callback"
#: How long the browser's page waits for the sign-in's outcome (the token request itself times out at 30 s).
VERDICT_SECONDS = 60.0

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title} - Audience Studio</title></head>
<body style="font-family: sans-serif; margin: 3em"><h1>{title}</h1><p>{text}</p></body></html>"""


@dataclass(frozen=True)
class Verdict:
    """What the browser's page says: whether the sign-in worked, and the sentence under the title."""

    ok: bool
    text: str

    @property
    def title(self) -> str:
        return "Signed in" if self.ok else "Sign-in failed"


#: When the app stopped listening without a verdict (cancelled, or it took too long).
_NO_VERDICT = Verdict(False, "Audience Studio stopped waiting for this sign-in; nothing was changed. "
                             "Return to Audience Studio and sign in again.")


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH:
            self.send_error(404)
            return
        params = {key: values[0] for key, values in parse_qs(parts.query).items()}
        self.server.answers.put(params)
        verdict = self.server.verdict(VERDICT_SECONDS)
        body = _PAGE.format(title=html.escape(verdict.title), text=html.escape(verdict.text)).encode("utf-8")
        self.send_response(200 if verdict.ok else 400)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # The default writes the request line, with the authorization code, to stderr.
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers: queue.Queue[dict[str, str]] = queue.Queue()
        self._verdict: Verdict | None = None
        self._decided = threading.Event()

    def decide(self, verdict: Verdict) -> None:
        if not self._decided.is_set():  # the first word stands: a later close() does not overwrite it
            self._verdict = verdict
            self._decided.set()

    def verdict(self, timeout: float) -> Verdict:
        self._decided.wait(timeout)
        return self._verdict or _NO_VERDICT


class LoopbackListener:
    """Listens from construction until `close()`; `wait()` returns the first callback's parameters, and `tell()`
    what the browser that brought them is shown."""

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

    def tell(self, ok: bool, text: str) -> None:
        """What the browser's page says about this sign-in (only the first call counts)."""
        self._server.decide(Verdict(ok, text))

    def close(self) -> None:
        self._server.decide(_NO_VERDICT)  # a page still waiting must not hang the browser
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "LoopbackListener":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
