"""Simulators of Meta's Marketing API (Custom Audiences) and the Google Ads API (Customer Match), on 127.0.0.1.

Written from the vendors' documentation, on pytest-httpserver: each checks what its API checks (bearer token,
developer token, request shapes, batch limits, SHA-256 hex values), answers as it documents (ids, per-record
errors, throttling, expired tokens), records every request, and keeps the members each audience holds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from itertools import count

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _json(status: int, body: object, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


class _Simulator:
    def __init__(self) -> None:
        self.server = HTTPServer(host="127.0.0.1", port=0)
        self.server.start()
        #: (method, path, headers, JSON body) of every request, in order.
        self.requests: list[tuple[str, str, dict, object]] = []
        self._ids = count(1000)

    def url(self, path: str) -> str:
        return self.server.url_for(path)

    def close(self) -> None:
        self.server.clear()
        if self.server.is_running():
            self.server.stop()

    def _record(self, request: Request) -> object:
        body = json.loads(request.get_data() or b"null")
        self.requests.append((request.method, request.path, {k.lower(): v for k, v in request.headers.items()}, body))
        return body


class MetaSimulator(_Simulator):
    """Graph API: POST act_{id}/customaudiences, POST/DELETE {audience}/users, Graph error objects."""

    VERSION = "v21.0"
    SCHEMA = ["EMAIL_SHA256", "PHONE_SHA256", "MADID_SHA256"]
    MAX_ROWS = 10_000

    def __init__(self, tokens: Iterable[str], ad_account: str):
        super().__init__()
        self.tokens, self.ad_account = set(tokens), ad_account
        self.expired: set[str] = set()
        #: With an app secret set, every call must carry appsecret_proof ("Require App Secret").
        self.app_secret: str | None = None
        #: Hashes Meta cannot use (invalid_entry_samples), with the reason it gives.
        self.unusable: dict[str, str] = {}
        #: audience id → name, and audience id → {(column, hash)} held.
        self.audiences: dict[str, str] = {}
        self.members: dict[str, set[tuple[str, str]]] = {}
        self._throttles: list[int] = []
        self.server.expect_request(re.compile(rf"^/{self.VERSION}/.*")).respond_with_handler(self._handle)

    @property
    def api_url(self) -> str:
        return self.url(f"/{self.VERSION}")

    def throttle_next(self, minutes: int, times: int = 1) -> None:
        """The next `times` requests get error 80003 (custom-audience rate limit), regaining access in `minutes`."""
        self._throttles += [minutes] * times

    def _handle(self, request: Request) -> Response:
        body = self._record(request)
        if "access_token" in request.args:
            return _json(400, {"error": {"message": "test: token in the URL", "code": 100}})
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in self.expired:
            return _json(400, {"error": {"message": "Error validating access token: Session has expired.",
                                         "type": "OAuthException", "code": 190, "error_subcode": 463}})
        if token not in self.tokens:
            return _json(400, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}})
        if self.app_secret is not None:
            proof = hmac.new(self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
            if request.args.get("appsecret_proof") != proof:
                return _json(400, {"error": {"message": "API calls from the server require an appsecret_proof argument",
                                             "type": "GraphMethodException", "code": 100}})
        if self._throttles:
            minutes = self._throttles.pop(0)
            usage = {self.ad_account: [{"type": "custom_audience", "call_count": 100, "total_time": 20, "total_cputime": 20,
                                        "estimated_time_to_regain_access": minutes}]}
            return _json(400, {"error": {"message": "(#80003) There have been too many calls to this ad-account.",
                                         "type": "OAuthException", "code": 80003, "error_subcode": 2446079}},
                         {"X-Business-Use-Case-Usage": json.dumps(usage)})
        path = request.path.removeprefix(f"/{self.VERSION}/")
        if path == f"act_{self.ad_account}/customaudiences" and request.method == "POST":
            if body.get("subtype") != "CUSTOM" or not body.get("name") or not body.get("customer_file_source"):
                return _json(400, {"error": {"message": "(#100) Invalid parameter", "code": 100}})
            audience = str(next(self._ids))
            self.audiences[audience], self.members[audience] = body["name"], set()
            return _json(200, {"id": audience})
        audience, _, tail = path.partition("/")
        if tail == "users" and audience in self.audiences and request.method in ("POST", "DELETE"):
            return self._users(audience, request.method, body)
        return _json(400, {"error": {"message": f"Unsupported {request.method} request", "code": 100}})

    def _users(self, audience: str, method: str, body: dict) -> Response:
        payload = body.get("payload") or {}
        data = payload.get("data") or []
        if payload.get("schema") != self.SCHEMA or not data:
            return _json(400, {"error": {"message": "(#100) Invalid schema", "code": 100}})
        if len(data) > self.MAX_ROWS:
            return _json(400, {"error": {"message": "(#100) Too many users in one request", "code": 100}})
        invalid: dict[str, str] = {}
        for row in data:
            cells = [(column, value) for column, value in zip(self.SCHEMA, row, strict=True) if value]
            assert cells and all(HEX64.match(value) for _, value in cells), f"not SHA-256 hex: {row}"
            for column, value in cells:
                if value in self.unusable:
                    invalid[value] = self.unusable[value]
                elif method == "POST":
                    self.members[audience].add((column, value))
                else:
                    self.members[audience].discard((column, value))
        return _json(200, {"audience_id": audience, "session_id": body.get("session", {}).get("session_id"),
                           "num_received": len(data), "num_invalid_entries": len(invalid),
                           "invalid_entry_samples": invalid})


class GoogleAdsSimulator(_Simulator):
    """Google Ads API REST: userLists:mutate, offlineUserDataJobs:create / :addOperations / :run, and an OAuth
    token endpoint that refreshes access tokens."""

    VERSION = "v18"
    MAX_IDENTIFIERS = 100_000

    def __init__(self, developer_token: str, customer: str, refresh_token: str):
        super().__init__()
        self.developer_token, self.customer, self.refresh_token = developer_token, customer, refresh_token
        self.valid_tokens: set[str] = set()
        #: Hashed values Google refuses (partial failure), with the error code it names.
        self.refused: dict[str, str] = {}
        self.lists: dict[str, str] = {}
        self.members: dict[str, set[tuple[str, str]]] = {}
        self.jobs: dict[str, dict] = {}
        self._too_many = 0
        self.refreshes = 0
        self.server.expect_request(f"/{self.VERSION}/customers/{customer}/userLists:mutate", method="POST") \
            .respond_with_handler(self._create_list)
        self.server.expect_request(f"/{self.VERSION}/customers/{customer}/offlineUserDataJobs:create", method="POST") \
            .respond_with_handler(self._create_job)
        self.server.expect_request(re.compile(rf"^/{self.VERSION}/customers/{customer}/offlineUserDataJobs/\d+:addOperations$"),
                                   method="POST").respond_with_handler(self._add_operations)
        self.server.expect_request(re.compile(rf"^/{self.VERSION}/customers/{customer}/offlineUserDataJobs/\d+:run$"),
                                   method="POST").respond_with_handler(self._run)
        self.server.expect_request("/token", method="POST").respond_with_handler(self._token)

    @property
    def api_url(self) -> str:
        return self.url(f"/{self.VERSION}")

    def resource_exhausted(self, times: int = 1) -> None:
        self._too_many += times

    def _refuse(self, request: Request) -> Response | None:
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.valid_tokens:
            return _json(401, {"error": {"code": 401, "status": "UNAUTHENTICATED", "message":
                                         "Request had invalid authentication credentials."}})
        if request.headers.get("developer-token") != self.developer_token:
            return _json(401, {"error": {"code": 401, "status": "UNAUTHENTICATED",
                                         "message": "The developer token is not valid."}})
        if self._too_many:
            self._too_many -= 1
            return _json(429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                                         "message": "Too many requests. Retry in 2 seconds."}}, {"Retry-After": "2"})
        return None

    def _create_list(self, request: Request) -> Response:
        body = self._record(request)
        if refused := self._refuse(request):
            return refused
        create = body["operations"][0]["create"]
        assert create["crmBasedUserList"]["uploadKeyType"] == "CONTACT_INFO" and create["name"]
        name = f"customers/{self.customer}/userLists/{next(self._ids)}"
        self.lists[name], self.members[name] = create["name"], set()
        return _json(200, {"results": [{"resourceName": name}]})

    def _create_job(self, request: Request) -> Response:
        body = self._record(request)
        if refused := self._refuse(request):
            return refused
        job = body["job"]
        if job.get("type") != "CUSTOMER_MATCH_USER_LIST" or job["customerMatchUserListMetadata"]["userList"] not in self.lists:
            return _json(400, {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "Invalid user list."}})
        name = f"customers/{self.customer}/offlineUserDataJobs/{next(self._ids)}"
        self.jobs[name] = {"list": job["customerMatchUserListMetadata"]["userList"], "operations": [], "status": "PENDING",
                           "metadata": job["customerMatchUserListMetadata"]}
        return _json(200, {"resourceName": name})

    def _add_operations(self, request: Request) -> Response:
        body = self._record(request)
        if refused := self._refuse(request):
            return refused
        job = self.jobs[request.path.removeprefix(f"/{self.VERSION}/").removesuffix(":addOperations")]
        operations = body["operations"]
        identifiers = sum(len(next(iter(op.values()))["userIdentifiers"]) for op in operations)
        if identifiers > self.MAX_IDENTIFIERS or job["status"] != "PENDING":
            return _json(400, {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "Too many identifiers."}})
        errors = []
        for index, operation in enumerate(operations):
            (kind, entry), = operation.items()
            (field, value), = entry["userIdentifiers"][0].items()
            assert kind in ("create", "remove") and field in ("hashedEmail", "hashedPhoneNumber")
            if not HEX64.match(value) or value in self.refused:
                code = self.refused.get(value, "INVALID_SHA256_FORMAT")
                errors.append({"errorCode": {"offlineUserDataJobError": code}, "message": f"Refused: {code}.",
                               "location": {"fieldPathElements": [{"fieldName": "operations", "index": index},
                                                                  {"fieldName": kind}, {"fieldName": "user_identifiers",
                                                                                        "index": 0}]}})
                if not body.get("enablePartialFailure"):
                    return _json(400, {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "Refused."}})
                continue
            job["operations"].append((kind, field, value))
        if not errors:
            return _json(200, {})
        return _json(200, {"partialFailureError": {"code": 3, "message": f"{len(errors)} operations failed.", "details": [{
            "@type": f"type.googleapis.com/google.ads.googleads.{self.VERSION}.errors.GoogleAdsFailure", "errors": errors}]}})

    def _run(self, request: Request) -> Response:
        self._record(request)
        if refused := self._refuse(request):
            return refused
        name = request.path.removeprefix(f"/{self.VERSION}/").removesuffix(":run")
        job = self.jobs[name]
        held = self.members[job["list"]]
        for kind, field, value in job["operations"]:
            (held.add if kind == "create" else held.discard)((field, value))
        job["status"] = "SUCCESS"
        return _json(200, {"name": f"customers/{self.customer}/operations/{next(self._ids)}"})

    def _token(self, request: Request) -> Response:
        form = request.form
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh_token:
            return _json(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
        self.refreshes += 1
        token = f"fresh-access-{self.refreshes}"
        self.valid_tokens.add(token)
        return _json(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer",
                           "scope": "https://www.googleapis.com/auth/adwords"})
