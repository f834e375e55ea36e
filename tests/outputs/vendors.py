"""Simulators of the named email and CRM partners, written from each vendor's API reference, on 127.0.0.1.

Each is a pytest-httpserver server (werkzeug) whose one handler plays the vendor: it checks what the vendor checks
(authentication, headers, limits per request, identifier forms), keeps the vendor's state (list members, profiles,
contacts, users), answers with the vendor's documented reply shapes and status codes (per-record errors inside a
success, 401/404/400 for whole requests) and records every request, so tests compare them with the documented ones.
`fail_next` scripts refusals (429 with the vendor's rate-limit headers, 5xx) for the next matching requests.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response


@dataclass
class Seen:
    """One request the simulator received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class _Scripted:
    status: int
    path: str
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class VendorSimulator:
    def __init__(self) -> None:
        self.server = HTTPServer(host="127.0.0.1", port=0)
        self.server.expect_request(re.compile(r"^/.*")).respond_with_handler(self._dispatch)
        self.server.start()
        self.seen: list[Seen] = []
        self._scripted: list[_Scripted] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def close(self) -> None:
        self.server.clear()
        if self.server.is_running():
            self.server.stop()

    def fail_next(self, status: int, *, path: str = "", times: int = 1, body: Any = None,
                  headers: dict[str, str] | None = None) -> None:
        """The next `times` requests whose path contains `path` answer `status` with `body` and `headers`."""
        self._scripted += [_Scripted(status, path, body, dict(headers or {})) for _ in range(times)]

    def requests_to(self, method: str, pattern: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and re.fullmatch(pattern, s.path)]

    def _dispatch(self, request: Request) -> Response:
        raw = request.get_data()
        try:
            body = json.loads(raw) if raw and "json" in (request.content_type or "") else raw.decode()
        except ValueError:
            body = raw.decode(errors="replace")
        seen = Seen(request.method, request.path, {k: v for k, v in request.args.items()}, dict(request.headers), body)
        with self._lock:
            self.seen.append(seen)
            for scripted in self._scripted:
                if scripted.path in request.path:
                    self._scripted.remove(scripted)
                    return reply(scripted.status, scripted.body or {"message": f"simulated {scripted.status}"},
                                 scripted.headers)
            return self.handle(seen)

    def handle(self, seen: Seen) -> Response:  # pragma: no cover - overridden
        raise NotImplementedError


def reply(status: int, body: Any = None, headers: dict[str, str] | None = None,
          content_type: str = "application/json") -> Response:
    payload = "" if body is None else json.dumps(body)
    return Response(payload, status=status, headers=headers or {}, content_type=content_type)


def _ids():
    return (f"{n:026d}" for n in itertools.count(1))


# -- Mailchimp: Marketing API 3.0, batch subscribe or unsubscribe list members ----------------------------------

def mailchimp_problem(status: int, title: str, detail: str) -> Response:
    """Mailchimp's errors are RFC 7807 problem documents."""
    return reply(status, {"type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": title,
                          "status": status, "detail": detail, "instance": "0b5b4c2e"},
                 content_type="application/problem+json")


class MailchimpSimulator(VendorSimulator):
    MAX_MEMBERS = 500

    def __init__(self, api_keys: set[str], lists: set[str], *, tokens: set[str] = frozenset()):
        super().__init__()
        self.api_keys, self.tokens = set(api_keys), set(tokens)
        self.members: dict[str, dict[str, str]] = {list_id: {} for list_id in lists}
        #: Addresses Mailchimp refuses on their own (a fake-looking or previously cleaned address).
        self.refused: dict[str, tuple[str, str]] = {}

    def _authorised(self, headers: dict[str, str]) -> bool:
        auth = headers.get("Authorization", "")
        if auth.startswith("Basic "):
            _, _, key = base64.b64decode(auth[6:]).decode().partition(":")
            return key in self.api_keys
        return auth.startswith("Bearer ") and auth[7:] in self.tokens

    def handle(self, seen: Seen) -> Response:
        if seen.path == "/oauth2/metadata":
            # The OAuth metadata names the account's data centre; it wants "OAuth <token>".
            if seen.headers.get("Authorization", "").removeprefix("OAuth ") not in self.tokens:
                return reply(401, {"error": "invalid_token"})
            return reply(200, {"dc": "us6", "role": "owner", "accountname": "Example", "user_id": 1,
                               "login_url": "https://login.mailchimp.com", "api_endpoint": self.url})
        match = re.fullmatch(r"/3\.0/lists/([A-Za-z0-9]+)", seen.path)
        if not match or seen.method != "POST":
            return mailchimp_problem(404, "Resource Not Found", "The requested resource could not be found.")
        if not self._authorised(seen.headers):
            return mailchimp_problem(401, "API Key Invalid", "Your API key may be invalid, or you've attempted to "
                                                             "access the wrong datacenter.")
        if match.group(1) not in self.members:
            return mailchimp_problem(404, "Resource Not Found", "The requested resource could not be found.")
        members = seen.body.get("members") if isinstance(seen.body, dict) else None
        if not isinstance(members, list) or len(members) > self.MAX_MEMBERS:
            return mailchimp_problem(400, "Invalid Resource", f"members: at most {self.MAX_MEMBERS} items.")
        held = self.members[match.group(1)]
        new, updated, errors = [], [], []
        for member in members:
            address = member.get("email_address", "")
            if member.get("status") not in ("subscribed", "unsubscribed", "cleaned", "pending", "transactional"):
                return mailchimp_problem(400, "Invalid Resource", "The resource submitted could not be validated.")
            if address in self.refused:
                code, message = self.refused[address]
                errors.append({"email_address": address, "error": message, "error_code": code, "field": "",
                               "field_message": ""})
                continue
            if address in held and not seen.body.get("update_existing"):
                errors.append({"email_address": address, "error": f"{address} is already a list member.",
                               "error_code": "ERROR_CONTACT_EXISTS", "field": "", "field_message": ""})
                continue
            (updated if address in held else new).append({"email_address": address, "status": member["status"]})
            held[address] = member["status"]
        return reply(200, {"new_members": new, "updated_members": updated, "errors": errors,
                           "total_created": len(new), "total_updated": len(updated), "error_count": len(errors)})

    def subscribed(self, list_id: str) -> set[str]:
        return {a for a, status in self.members[list_id].items() if status == "subscribed"}


# -- Klaviyo: JSON:API with a revision header ----------------------------------------------------------------

def klaviyo_errors(status: int, code: str, title: str, detail: str, pointer: str | None = None) -> Response:
    error = {"id": "7c9b3c4e", "status": status, "code": code, "title": title, "detail": detail}
    if pointer:
        error["source"] = {"pointer": pointer}
    return reply(status, {"errors": [error]}, content_type="application/vnd.api+json")


class KlaviyoSimulator(VendorSimulator):
    MAX_RELATIONSHIPS = 1000

    def __init__(self, api_keys: set[str], lists: set[str], *, page_limit: int = 100):
        super().__init__()
        self.api_keys = set(api_keys)
        self.lists: dict[str, set[str]] = {list_id: set() for list_id in lists}
        self.profiles: dict[str, dict[str, Any]] = {}
        self.page_limit = page_limit
        #: Emails Klaviyo refuses (400 on profile import).
        self.invalid: set[str] = set()
        self._new_id = _ids()

    def add_profile(self, **attributes: Any) -> str:
        profile_id = next(self._new_id)
        self.profiles[profile_id] = dict(attributes)
        return profile_id

    def members(self, list_id: str) -> set[str]:
        return {self.profiles[i].get("email") for i in self.lists[list_id]}

    def handle(self, seen: Seen) -> Response:
        if seen.headers.get("Authorization", "").removeprefix("Klaviyo-API-Key ") not in self.api_keys:
            return klaviyo_errors(401, "not_authenticated", "Authentication credentials were not provided.",
                                  "Missing or invalid private key.")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}(\.\w+)?", seen.headers.get("Revision", "")):
            return klaviyo_errors(400, "invalid", "Invalid input.", "Missing or invalid revision header.")
        if seen.method in ("POST", "DELETE") and seen.headers.get("Content-Type") != "application/vnd.api+json":
            return klaviyo_errors(415, "unsupported_media_type", "Unsupported media type.",
                                  "Content-Type must be application/vnd.api+json.")
        if seen.method == "GET" and seen.path == "/api/profiles":
            return self._profiles(seen)
        if seen.method == "POST" and seen.path == "/api/profile-import":
            return self._import(seen.body)
        match = re.fullmatch(r"/api/lists/([A-Za-z0-9]+)/relationships/profiles", seen.path)
        if match and seen.method in ("POST", "DELETE"):
            if match.group(1) not in self.lists:
                return klaviyo_errors(404, "not_found", "Not found.", f"A list with id {match.group(1)} does not exist.")
            data = seen.body.get("data") if isinstance(seen.body, dict) else None
            if not isinstance(data, list) or len(data) > self.MAX_RELATIONSHIPS:
                return klaviyo_errors(400, "invalid", "Invalid input.", "data: at most 1000 profiles.", "/data")
            ids = [item.get("id") for item in data if isinstance(item, dict) and item.get("type") == "profile"]
            if len(ids) != len(data) or any(i not in self.profiles for i in ids):
                return klaviyo_errors(400, "invalid", "Invalid input.", "Unknown profile id.", "/data")
            (self.lists[match.group(1)].update if seen.method == "POST" else self.lists[match.group(1)].difference_update)(ids)
            return Response(status=204)
        return klaviyo_errors(404, "not_found", "Not found.", f"{seen.method} {seen.path}")

    def _profiles(self, seen: Seen) -> Response:
        match = re.fullmatch(r"any\((email|phone_number|external_id),(\[.*\])\)", seen.query.get("filter", ""))
        size = int(seen.query.get("page[size]", "20"))
        if not match or not 1 <= size <= 100:
            return klaviyo_errors(400, "invalid", "Invalid input.", "Invalid filter or page size.", None)
        key, values = match.group(1), json.loads(match.group(2))
        wanted = {v.lower() if key == "email" else v for v in values}
        found = [(i, p) for i, p in self.profiles.items() if str(p.get(key, "")).lower() in wanted or p.get(key) in wanted]
        start = int(seen.query.get("page[cursor]", "0"))
        page = found[start:start + min(size, self.page_limit)]
        more = start + len(page) < len(found)
        next_link = None
        if more:
            next_link = (f"{self.url}/api/profiles?filter={seen.query['filter']}&page[size]={size}"
                         f"&page[cursor]={start + len(page)}")
        return reply(200, {"data": [{"type": "profile", "id": i, "attributes": {key: p.get(key)}} for i, p in page],
                           "links": {"self": f"{self.url}{seen.path}", "next": next_link, "prev": None}},
                     content_type="application/vnd.api+json")

    def _import(self, body: Any) -> Response:
        attributes = (body.get("data") or {}).get("attributes") if isinstance(body, dict) else None
        if not isinstance(attributes, dict) or not any(attributes.get(k) for k in ("email", "phone_number", "external_id")):
            return klaviyo_errors(400, "invalid", "Invalid input.", "A profile needs an identifier.", "/data/attributes")
        email = attributes.get("email")
        if email and (email in self.invalid or "@" not in email):
            return klaviyo_errors(400, "invalid", "Invalid input.", "Invalid email address", "/data/attributes/email")
        for profile_id, profile in self.profiles.items():
            if email and profile.get("email") == email.lower():
                profile.setdefault("properties", {}).update(attributes.get("properties") or {})
                return reply(200, {"data": {"type": "profile", "id": profile_id, "attributes": profile}},
                             content_type="application/vnd.api+json")
        profile_id = self.add_profile(**{k: (v.lower() if k == "email" else v) for k, v in attributes.items()})
        return reply(201, {"data": {"type": "profile", "id": profile_id, "attributes": self.profiles[profile_id]}},
                     content_type="application/vnd.api+json")


# -- Braze: POST /users/track ----------------------------------------------------------------------------------

class BrazeSimulator(VendorSimulator):
    MAX_OBJECTS = 75
    IDENTIFIERS = ("external_id", "user_alias", "braze_id", "email", "phone")

    def __init__(self, api_keys: set[str]):
        super().__init__()
        self.api_keys = set(api_keys)
        #: Users by (identifier field, value) → their attributes.
        self.users: dict[tuple[str, str], dict[str, Any]] = {}
        #: Addresses Braze refuses on their own, with the error type it names.
        self.refused: dict[str, str] = {}

    def handle(self, seen: Seen) -> Response:
        if seen.method != "POST" or seen.path != "/users/track":
            return reply(404, {"message": "Not found"})
        if seen.headers.get("Authorization", "").removeprefix("Bearer ") not in self.api_keys:
            return reply(401, {"message": "Invalid API key: the key is unknown or lacks users.track"})
        objects = seen.body.get("attributes") if isinstance(seen.body, dict) else None
        if not isinstance(objects, list) or len(objects) > self.MAX_OBJECTS:
            return reply(400, {"message": f"Received too many attributes objects: at most {self.MAX_OBJECTS}"})
        errors = []
        for index, item in enumerate(objects):
            names = [k for k in self.IDENTIFIERS if k in item]
            if len(names) != 1:
                errors.append({"type": "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required",
                               "input_array": "attributes", "index": index})
                continue
            key = (names[0], item[names[0]])
            if key[1] in self.refused:
                errors.append({"type": self.refused[key[1]], "input_array": "attributes", "index": index})
                continue
            if names[0] == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", key[1]):
                errors.append({"type": f"'{key[1]}' is not a valid email address", "input_array": "attributes",
                               "index": index})
                continue
            if names[0] == "phone" and not re.fullmatch(r"\+[1-9]\d{7,14}", key[1]):
                errors.append({"type": "'phone' must be E.164", "input_array": "attributes", "index": index})
                continue
            if key not in self.users and item.get("_update_existing_only", names[0] != "external_id"):
                continue  # update-only and unknown: Braze leaves it alone
            user = self.users.setdefault(key, {})
            for name, value in item.items():
                if name in self.IDENTIFIERS or name == "_update_existing_only":
                    continue
                if name == "subscription_groups":
                    for group in value:
                        user.setdefault("subscription_groups", {})[group["subscription_group_id"]] = \
                            group["subscription_state"]
                else:
                    user[name] = value
        return reply(201, {"attributes_processed": len(objects) - len(errors), "message": "success",
                           **({"errors": errors} if errors else {})})

    def with_attribute(self, name: str, value: Any) -> set[str]:
        return {k[1] for k, user in self.users.items() if user.get(name) == value}

    def in_group(self, group: str, state: str) -> set[str]:
        return {k[1] for k, user in self.users.items() if user.get("subscription_groups", {}).get(group) == state}


# -- HubSpot: CRM lists v3 memberships and contacts batch read, OAuth 2.0 tokens ------------------------------

def hubspot_error(status: int, message: str, category: str, **extra: Any) -> Response:
    return reply(status, {"status": "error", "message": message, "correlationId": "4fa1d8a0", "category": category,
                          **extra})


class HubSpotSimulator(VendorSimulator):
    MAX_INPUTS = 100
    TOKEN_SECONDS = 1800

    def __init__(self, client_id: str, client_secret: str, contacts: dict[str, str], lists: dict[str, str]):
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        #: email → contact id, and list id → its processing type (MANUAL, SNAPSHOT, DYNAMIC).
        self.contacts = dict(contacts)
        self.processing = dict(lists)
        self.memberships: dict[str, set[str]] = {list_id: set() for list_id in lists}
        self.access: dict[str, float] = {}
        self.refresh_tokens: set[str] = set()
        #: Authorization codes issued, with the redirect URI each was issued for.
        self.codes: dict[str, str] = {}
        self._counter = itertools.count(1)

    def issue(self) -> dict[str, Any]:
        n = next(self._counter)
        access, refresh = f"hs-access-{n}", f"hs-refresh-{n}"
        self.access[access] = time.time() + self.TOKEN_SECONDS
        self.refresh_tokens.add(refresh)
        return {"access_token": access, "refresh_token": refresh, "expires_in": self.TOKEN_SECONDS,
                "token_type": "bearer"}

    def expire_access_tokens(self) -> None:
        """HubSpot's access tokens last 30 minutes: make every one issued so far expired."""
        self.access = {token: 0.0 for token in self.access}

    def members(self, list_id: str) -> set[str]:
        emails = {contact_id: email for email, contact_id in self.contacts.items()}
        return {emails[i] for i in self.memberships[list_id]}

    def handle(self, seen: Seen) -> Response:
        if seen.path == "/oauth/authorize" and seen.method == "GET":
            # The admin approves at once: HubSpot redirects back with a one-time code and the state it was given.
            if seen.query.get("client_id") != self.client_id or seen.query.get("response_type") != "code":
                return reply(400, {"error": "invalid_request"})
            code = f"hs-code-{next(self._counter)}"
            self.codes[code] = seen.query["redirect_uri"]
            target = f"{seen.query['redirect_uri']}?{urlencode({'code': code, 'state': seen.query.get('state', '')})}"
            return Response(status=302, headers={"Location": target})
        if seen.path == "/oauth/v1/token" and seen.method == "POST":
            form = {k: v[0] for k, v in parse_qs(seen.body).items()}
            if (form.get("client_id"), form.get("client_secret")) != (self.client_id, self.client_secret):
                return reply(400, {"error": "invalid_client", "error_description": "missing or unknown client"})
            if form.get("grant_type") == "authorization_code":
                if self.codes.pop(form.get("code", ""), None) != form.get("redirect_uri"):
                    return reply(400, {"error": "invalid_grant", "error_description": "unknown code or redirect_uri"})
                return reply(200, self.issue())
            if form.get("grant_type") != "refresh_token" or form.get("refresh_token") not in self.refresh_tokens:
                return reply(400, {"error": "invalid_grant", "error_description": "missing or unknown refresh token"})
            return reply(200, self.issue())
        token = seen.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.access:
            return hubspot_error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")
        if self.access[token] < time.time():
            return hubspot_error(401, "The OAuth token used to make this call expired 1 second(s) ago.",
                                 "EXPIRED_AUTHENTICATION")
        if seen.method == "POST" and seen.path == "/crm/v3/objects/contacts/batch/read":
            return self._batch_read(seen.body)
        match = re.fullmatch(r"/crm/v3/lists/(\d+)/memberships/(add|remove)", seen.path)
        if match and seen.method == "PUT":
            list_id, verb = match.groups()
            if list_id not in self.processing:
                return hubspot_error(404, f"List {list_id} does not exist.", "OBJECT_NOT_FOUND")
            if self.processing[list_id] not in ("MANUAL", "SNAPSHOT"):
                return hubspot_error(400, f"List {list_id} has processing type {self.processing[list_id]}; only "
                                          "MANUAL or SNAPSHOT lists take memberships.", "VALIDATION_ERROR")
            if not isinstance(seen.body, list):
                return hubspot_error(400, "Invalid input JSON: expected an array of record ids.", "VALIDATION_ERROR")
            known = set(self.contacts.values())
            present = [str(i) for i in seen.body if str(i) in known]
            missing = [str(i) for i in seen.body if str(i) not in known]
            held = self.memberships[list_id]
            if verb == "add":
                added = [i for i in present if i not in held]
                held.update(present)
                return reply(200, {"recordIdsMissing": missing, "recordIdsRemoved": [], "recordsIdsAdded": added})
            removed = [i for i in present if i in held]
            held.difference_update(present)
            return reply(200, {"recordIdsMissing": missing, "recordIdsRemoved": removed, "recordsIdsAdded": []})
        return hubspot_error(404, f"No route for {seen.method} {seen.path}", "OBJECT_NOT_FOUND")

    def _batch_read(self, body: Any) -> Response:
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if body.get("idProperty") != "email" or not isinstance(inputs, list) or len(inputs) > self.MAX_INPUTS:
            return hubspot_error(400, f"Invalid input: idProperty email and at most {self.MAX_INPUTS} inputs.",
                                 "VALIDATION_ERROR")
        results, missing = [], []
        for item in inputs:
            email = str(item.get("id", "")).lower()
            if email in self.contacts:
                results.append({"id": self.contacts[email], "properties": {"email": email,
                                                                           "hs_object_id": self.contacts[email]},
                                "createdAt": "2026-01-05T10:00:00Z", "updatedAt": "2026-01-05T10:00:00Z",
                                "archived": False})
            else:
                missing.append(item.get("id"))
        answer: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": "2026-12-07T00:00:00Z",
                                  "completedAt": "2026-12-07T00:00:01Z"}
        if missing:
            answer.update(numErrors=1, errors=[{"status": "error", "category": "OBJECT_NOT_FOUND",
                                                "message": "Could not get some CONTACT objects, they may be deleted "
                                                           "or not exist. Check that ids are valid.",
                                                "context": {"ids": missing}}])
        return reply(207 if missing else 200, answer)


# -- running the real forwarding engine against them -----------------------------------------------------------

class Sleeps(list):
    """Stands in for time.sleep: records each wait instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def forwarding(home, sleeps: Sleeps | None = None, **options):
    """The real forwarding engine at the test clock, waiting on `sleeps` rather than the wall clock."""
    import random

    from app.engines.forwarding import ForwardingEngine
    from tests.outputs.homes import NOW

    return ForwardingEngine(home, now=lambda: NOW, sleep=sleeps if sleeps is not None else Sleeps(),
                            rng=random.Random(7), **options)
