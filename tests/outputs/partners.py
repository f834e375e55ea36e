"""Partner simulators: real HTTP servers on 127.0.0.1 that behave like each partner's API.

Each checks what its partner checks (authentication, batch limits, hashing and normalisation), can be
told to fail the next requests (401, 403, 429 with Retry-After, 5xx, even after processing a batch
as if the reply were lost), ignores a batch id it has already processed, and counts every identity
it was asked to add, so tests can prove nothing was lost or sent twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from app.connectors.outputs.identities import normalise, sha256_hex
from app.connectors.outputs.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] | None = None
    #: Close the connection half-way through the body: "length" (Content-Length announced, fewer bytes sent) or
    #: "chunked" (Transfer-Encoding: chunked, the last chunk never comes).
    cut: str | None = None


@dataclass
class _Failure:
    status: int
    retry_after: float | None
    after_processing: bool
    body: Any
    #: Batch requests to let through before this failure applies.
    skip: int = 0
    headers: dict[str, str] | None = None
    cut: str | None = None


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.server.simulator.dispatch(self.command, self.path, self.headers, body)
        payload = b"" if reply.body is None else json.dumps(reply.body).encode("utf-8")
        self.send_response(reply.status)
        for key, value in (reply.headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        if reply.cut == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            half = payload[: len(payload) // 2]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(half), half))
        else:
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2] if reply.cut else payload)
        if reply.cut:
            # The partner goes away mid-reply: the client reads a body that stops short.
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

    do_GET = do_POST = do_DELETE = do_PUT = _handle

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, simulator: "PartnerSimulator"):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.simulator = simulator


class PartnerSimulator:
    """The shared machinery: a server thread, scripted failures, batch-id de-duplication and counts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: list[_Failure] = []
        self.seen_batches: set[str] = set()
        self.duplicates = 0
        self.requests = 0
        self.held: set[tuple[str, str]] = set()
        #: How many times each identity was added (or removed) by a batch the partner processed.
        self.added: Counter[tuple[str, str]] = Counter()
        self.removed: Counter[tuple[str, str]] = Counter()
        self.batch_sizes: list[int] = []
        self._server = _Server(self)
        # A short poll so close() returns at once rather than after serve_forever's default half second.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, status: int, *, times: int = 1, retry_after: float | None = None,
                  after_processing: bool = False, body: Any = None, after: int = 0,
                  headers: dict[str, str] | None = None, cut: str | None = None) -> None:
        """The next `times` batch requests answer `status` (after processing them, if `after_processing`);
        with `after`, only once that many more batch requests went through; `headers` go with the answer;
        with `cut` ("length" or "chunked") the answer stops half-way and the connection closes."""
        with self._lock:
            self._failures.extend(_Failure(status, retry_after, after_processing, body, after if i == 0 else 0, headers,
                                           cut) for i in range(times))

    def dispatch(self, method: str, path: str, headers, body: bytes) -> Reply:
        with self._lock:
            self.requests += 1
            return self.handle(method, path, headers, body)

    def handle(self, method: str, path: str, headers, body: bytes) -> Reply:  # pragma: no cover - overridden
        raise NotImplementedError

    # -- helpers for subclasses (called with the lock held) -------------------------------------

    def _scripted(self, process) -> Reply | None:
        """Apply the next scripted failure, if any; `process` is called first when it fails after processing."""
        if not self._failures:
            return None
        if self._failures[0].skip:
            self._failures[0].skip -= 1
            return None
        failure = self._failures.pop(0)
        if failure.after_processing:
            process()
        headers = dict(failure.headers or {})
        if failure.retry_after is not None:
            headers["Retry-After"] = f"{failure.retry_after:g}"
        return Reply(failure.status, failure.body or {"error": f"simulated {failure.status}"}, headers, failure.cut)

    def _apply(self, batch_id: str, action: str, identities: list[tuple[str, str]]) -> bool:
        """Process a batch once: False (and nothing changes) when its id was seen before."""
        if batch_id in self.seen_batches:
            self.duplicates += 1
            return False
        self.seen_batches.add(batch_id)
        self.batch_sizes.append(len(identities))
        for identity in identities:
            if action == "add":
                self.added[identity] += 1
                self.held.add(identity)
            else:
                self.removed[identity] += 1
                self.held.discard(identity)
        return True


class WebhookSimulator(PartnerSimulator):
    """A receiver that trusts only batches signed with its secret, recently, and of at most 1,000 identities."""

    MAX_BATCH = 1000

    def __init__(self, secret: str):
        self.secret = secret
        super().__init__()

    @property
    def endpoint(self) -> str:
        return self.url + "/hook"

    def handle(self, method, path, headers, body):
        if method != "POST" or path != "/hook":
            return Reply(404, {"error": "no such endpoint"})
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            return Reply(401, {"error": "missing or stale timestamp"})
        if not hmac.compare_digest(headers.get(SIGNATURE_HEADER, ""), signature(self.secret, timestamp, body)):
            return Reply(401, {"error": "bad signature"})
        batch = json.loads(body)
        if len(batch["identities"]) > self.MAX_BATCH:
            return Reply(413, {"error": f"at most {self.MAX_BATCH} identities per batch"})
        identities = [(i["type"], i["value"]) for i in batch["identities"]]
        process = lambda: self._apply(batch["batch_id"], batch["action"], identities)  # noqa: E731
        failed = self._scripted(process)
        if failed:
            return failed
        process()
        return Reply(200, {"ok": True})


class EmailListSimulator(PartnerSimulator):
    """Like the Mailchimp Marketing API's batch subscribe: Basic auth with an API key, 500 members at most, per list."""

    MAX_MEMBERS = 500

    def __init__(self, api_keys: set[str], lists: set[str]):
        self.api_keys = set(api_keys)
        self.revoked: set[str] = set()
        self.lists = set(lists)
        super().__init__()

    def handle(self, method, path, headers, body):
        match = re.fullmatch(r"/3\.0/lists/([A-Za-z0-9]+)", path)
        if not match or method != "POST":
            return Reply(404, {"title": "Resource Not Found", "status": 404, "detail": "The requested resource could not be found."})
        key = _basic_password(headers.get("Authorization", ""))
        if key is None or key not in self.api_keys or key in self.revoked:
            return Reply(401, {"title": "API Key Invalid", "status": 401,
                               "detail": "Your API key may be invalid, or you've attempted to access the wrong datacenter."})
        if match.group(1) not in self.lists:
            return Reply(404, {"title": "Resource Not Found", "status": 404, "detail": f"List {match.group(1)} does not exist."})
        request = json.loads(body)
        members = request.get("members", [])
        if len(members) > self.MAX_MEMBERS:
            return Reply(400, {"title": "Invalid Resource", "status": 400,
                               "detail": f"You can only subscribe up to {self.MAX_MEMBERS} members at a time."})
        statuses = {m["status"] for m in members}
        if len(statuses) > 1 or not statuses <= {"subscribed", "unsubscribed"}:
            return Reply(400, {"title": "Invalid Resource", "status": 400, "detail": "Unexpected member statuses."})
        errors = [m["email_address"] for m in members if normalise("email", m["email_address"]) != m["email_address"]]
        identities = [("email", m["email_address"]) for m in members if m["email_address"] not in errors]
        action = "add" if statuses == {"subscribed"} else "remove"
        batch_id = headers.get("Idempotency-Key") or hashlib.sha256(body).hexdigest()
        process = lambda: self._apply(batch_id, action, identities)  # noqa: E731
        failed = self._scripted(process)
        if failed:
            return failed
        process()
        return Reply(200, {"total_created": len(identities), "error_count": len(errors),
                           "errors": [{"email_address": e, "error": "not a normalised address"} for e in errors]})


class CustomAudienceSimulator(PartnerSimulator):
    """Like Meta's custom audiences: bearer access tokens, 10,000 rows, SHA-256 of normalised values only.

    `people` are the raw identities the network knows: a hash of one of them in another form than
    its normal one (not trimmed, not lowercased, a '+' left in a phone) is refused as badly normalised.
    """

    MAX_ROWS = 10_000
    SCHEMA = ["EMAIL_SHA256", "PHONE_SHA256", "MADID_SHA256"]

    def __init__(self, tokens: set[str], ad_account: str, people: list[tuple[str, str]] = ()):
        self.tokens = set(tokens)
        self.revoked: set[str] = set()
        self.without_permission: set[str] = set()
        self.ad_account = ad_account
        self.audiences: dict[str, str] = {}
        self.descriptions: dict[str, str] = {}
        #: The next audience creations made but answered with a reply cut half-way ("length" or "chunked").
        self.cut_creations: list[str] = []
        #: Audiences per page of the listing (the Graph API pages with cursors and a "next" URL).
        self.page_size = 25
        self.badly_normalised: set[str] = set()
        for identity_type, raw in people:
            normal = normalise(identity_type, raw)
            for variant in {raw, raw.strip(), raw.lower(), "+" + (normal or ""), " " + (normal or "")}:
                if variant and variant != normal:
                    self.badly_normalised.add(sha256_hex(variant))
        super().__init__()

    @property
    def api_url(self) -> str:
        return self.url + "/v19.0"

    def handle(self, method, path, headers, body):
        token = headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens or token in self.revoked:
            return Reply(401, {"error": {"message": "Error validating access token: The session has been invalidated.",
                                         "type": "OAuthException", "code": 190}})
        if token in self.without_permission:
            return Reply(403, {"error": {"message": "(#200) The user hasn't authorized the application to perform this action",
                                         "type": "OAuthException", "code": 200}})
        request = json.loads(body or b"{}")
        if method == "POST" and path == f"/v19.0/act_{self.ad_account}/customaudiences":
            audience_id = str(23840000000000 + len(self.audiences))
            self.audiences[audience_id] = request["name"]
            self.descriptions[audience_id] = request.get("description", "")
            return Reply(200, {"id": audience_id}, cut=self.cut_creations.pop(0) if self.cut_creations else None)
        if method == "GET" and path.split("?")[0] == f"/v19.0/act_{self.ad_account}/customaudiences":
            return self._listing(path)
        match = re.fullmatch(r"/v19\.0/(\d+)/users", path)
        if not match or method not in ("POST", "DELETE"):
            return Reply(404, {"error": {"message": "Unsupported request", "code": 100}})
        if match.group(1) not in self.audiences:
            return Reply(400, {"error": {"message": f"Custom audience {match.group(1)} does not exist", "code": 100}})
        payload = request.get("payload", {})
        if payload.get("schema") != self.SCHEMA:
            return Reply(400, {"error": {"message": "Invalid schema", "code": 100}})
        rows = payload.get("data", [])
        if len(rows) > self.MAX_ROWS:
            return Reply(400, {"error": {"message": f"At most {self.MAX_ROWS} rows per request", "code": 100}})
        identities = []
        for row in rows:
            filled = [(self.SCHEMA[i], v) for i, v in enumerate(row) if v]
            if len(filled) != 1:
                return Reply(400, {"error": {"message": "Each row needs exactly one value", "code": 100}})
            column, value = filled[0]
            if not re.fullmatch(r"[0-9a-f]{64}", value):
                return Reply(400, {"error": {"message": f"{column}: data is not SHA-256 hashed", "code": 100}})
            if value in self.badly_normalised:
                return Reply(400, {"error": {"message": f"{column}: value was not normalised before hashing", "code": 100}})
            identities.append((column, value))
        session = request.get("session", {})
        batch_id = f"{match.group(1)}/{session.get('session_id')}/{session.get('batch_seq')}"
        process = lambda: self._apply(batch_id, "add" if method == "POST" else "remove", identities)  # noqa: E731
        failed = self._scripted(process)
        if failed:
            return failed
        process()
        return Reply(200, {"audience_id": match.group(1), "session_id": session.get("session_id"),
                           "num_received": len(rows), "num_invalid_entries": 0})

    def _listing(self, path: str) -> Reply:
        """GET act_<account>/customaudiences: `fields`, `limit` and an `after` cursor, with a "next" URL while more remain."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
        fields = (query.get("fields") or "id").split(",")
        limit = min(int(query.get("limit", self.page_size)), self.page_size)
        ids = sorted(self.audiences)
        start = int(query.get("after", "0"))
        chosen = ids[start:start + limit]
        rows = [{k: v for k, v in {"id": i, "name": self.audiences[i], "description": self.descriptions.get(i, "")}
                 .items() if k in fields} for i in chosen]
        paging = {"cursors": {"before": str(start), "after": str(start + len(chosen))}}
        if start + len(chosen) < len(ids):
            paging["next"] = (f"{self.url}{urlsplit(path).path}?fields={','.join(fields)}&limit={limit}"
                              f"&after={start + len(chosen)}")
        return Reply(200, {"data": rows, "paging": paging})


class OAuthApiSimulator(PartnerSimulator):
    """A generic partner API that checks bearer tokens with the real authorization server's introspection (RFC 7662)."""

    def __init__(self, introspection_url: str, client_id: str, client_secret: str, required_scope: str):
        self.introspection_url = introspection_url
        self.credentials = (client_id, client_secret)
        self.required_scope = required_scope
        self.introspections = 0
        super().__init__()

    @property
    def endpoint(self) -> str:
        return self.url + "/batches"

    def handle(self, method, path, headers, body):
        if method != "POST" or path != "/batches":
            return Reply(404, {"error": "not_found"})
        token = headers.get("Authorization", "").removeprefix("Bearer ")
        self.introspections += 1
        answer = requests.post(self.introspection_url, data={"token": token}, auth=self.credentials, timeout=10).json()
        if not answer.get("active"):
            return Reply(401, {"error": "invalid_token", "error_description": "The access token expired or was revoked."},
                         {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if self.required_scope not in (answer.get("scope") or "").split():
            return Reply(403, {"error": "insufficient_scope", "error_description": f"{self.required_scope} is required."},
                         {"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{self.required_scope}"'})
        batch = json.loads(body)
        identities = [(i["type"], i["value"]) for i in batch["identities"]]
        process = lambda: self._apply(batch["batch_id"], batch["action"], identities)  # noqa: E731
        failed = self._scripted(process)
        if failed:
            return failed
        process()
        return Reply(200, {"accepted": len(identities)})


def _basic_password(header: str) -> str | None:
    if not header.startswith("Basic "):
        return None
    try:
        _, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
    except ValueError:
        return None
    return password
