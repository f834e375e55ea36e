"""A small OAuth 2.0 authorization server on 127.0.0.1 for what oidc-provider never does: answer without `scope`.

RFC 6749 §5.1 lets a token response leave `scope` out when it is the one requested, and §3.3 and §6
let a server grant (or renew with) another scope than asked for. This server follows RFC 6749 and
RFC 7636 otherwise: the authorization endpoint takes `response_type=code` with an S256 code challenge
and a loopback redirect on any port (RFC 8252 §7.3), and redirects back at once (an approving user);
the token endpoint checks the code, the redirect URI and the PKCE verifier, and rotates refresh tokens.
`scope_answer(requested, grant_type)` says what `scope` each token response carries (None: none).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path != "/authorize":
            return self._json(404, {"error": "not_found"})
        redirect = urlsplit(query.get("redirect_uri", ""))
        if (redirect.scheme, redirect.hostname, redirect.path) != ("http", "127.0.0.1", "/callback") or not redirect.port:
            return self._json(400, {"error": "invalid_request", "error_description": "redirect_uri is not a loopback one"})
        if query.get("response_type") != "code" or query.get("code_challenge_method") != "S256" \
                or len(query.get("code_challenge", "")) != 43:
            return self._json(400, {"error": "invalid_request", "error_description": "code with S256 PKCE only"})
        code = secrets.token_urlsafe(16)
        self.server.codes[code] = (query["redirect_uri"], query["code_challenge"], query.get("scope", ""))
        self.send_response(302)
        self.send_header("Location", query["redirect_uri"] + "?" + urlencode({"code": code, "state": query.get("state", "")}))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:  # noqa: N802
        if urlsplit(self.path).path != "/token":
            return self._json(404, {"error": "not_found"})
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()).items()}
        server = self.server
        with server.lock:
            server.token_requests.append(dict(form, code_verifier="…" if "code_verifier" in form else None))
            if form.get("grant_type") == "authorization_code":
                issued = server.codes.pop(form.get("code", ""), None)
                if issued is None or issued[0] != form.get("redirect_uri") \
                        or issued[1] != _challenge(form.get("code_verifier", "")):
                    return self._json(400, {"error": "invalid_grant"})
                requested = issued[2]
            elif form.get("grant_type") == "refresh_token":
                requested = server.refresh_tokens.pop(form.get("refresh_token", ""), None)
                if requested is None:
                    return self._json(400, {"error": "invalid_grant"})
                if form.get("scope") and not set(form["scope"].split()) <= set(requested.split()):
                    return self._json(400, {"error": "invalid_scope"})  # §6: never more than granted
            else:
                return self._json(400, {"error": "unsupported_grant_type"})
            access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
            answer = server.scope_answer(requested, form["grant_type"])
            granted = answer if answer is not None else requested
            server.refresh_tokens[refresh] = granted
            server.access_tokens[access] = granted
            body = {"access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": refresh}
            if answer is not None:
                body["scope"] = answer
        self._json(200, body)

    def _json(self, status: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, scope_answer: Callable[[str, str], str | None]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.scope_answer = scope_answer
        self.lock = threading.Lock()
        self.codes: dict[str, tuple[str, str, str]] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.access_tokens: dict[str, str] = {}
        self.token_requests: list[dict] = []


class TokenServer:
    def __init__(self, scope_answer: Callable[[str, str], str | None]):
        self._server = _Server(scope_answer)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def token_requests(self) -> list[dict]:
        return self._server.token_requests

    def settings(self, scopes: str, api_url: str = "http://127.0.0.1:9/batches") -> dict:
        return {"authorize_url": self.url + "/authorize", "token_url": self.url + "/token", "client_id": "audience-studio",
                "scopes": scopes, "api_url": api_url, "identity_types": ["ios_idfa"]}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
