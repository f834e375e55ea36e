"""The desktop side of the team server's account and administration API: signing in with an e-mail and
password, the workspace's sources (inputs), the audit log, and the live activity stream.

Data sync lives in `sync_client`; this module reuses its client (retries, error messages) for the
administration calls and adds what sync does not need. No Qt here: the panes call it through engines,
off the GUI thread.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests

from app.connectors.sync_client import NO_RETRY, SyncClient, SyncError, _server_message
from app.errors import InvalidInput

#: cache_meta key of the team server's company name (`server init`), kept at each sign-in and sync: what
#: channel pushes carry (app/engines/channel_pushes.py).
COMPANY_KEY = "sync_company"
#: How long a sign-in may take: the server hashes the password with argon2 (tens of milliseconds).
SIGN_IN_TIMEOUT = 30.0


def password_sign_in(server_url: str, email: str, password: str, label: str | None = None, *,
                     timeout: float = SIGN_IN_TIMEOUT) -> tuple[str, str]:
    """POST /v1/sign-in: the user's name and a new API token for an activated member's e-mail and password.

    Sent once, never retried: each sign-in makes a token, and a lost reply is best answered by signing
    in again (the token that reply carried is never used)."""
    email, url = email.strip(), server_url.strip().rstrip("/")
    if not email or "@" not in email:
        raise InvalidInput(f"E-mail {email!r}: give the address your invitation was sent to, such as ann@example.com.")
    if not password:
        raise InvalidInput("Password: empty; type the password you set when you activated your account.")
    body: dict[str, Any] = {"email": email, "password": password}
    if label:
        body["label"] = label[:200]
    try:
        reply = requests.post(f"{url}/v1/sign-in", json=body, timeout=timeout)
    except requests.RequestException as exc:
        raise SyncError(f"Cannot reach the server {url} ({type(exc).__name__}); check the address and the network.") from None
    if reply.status_code == 401:
        raise SyncError(f"The server {url} refused the sign-in: {_server_message(reply)}")
    if reply.status_code == 404:
        raise SyncError(f"The server {url} has no e-mail sign-in (404): it is older than this app, or not an Audience "
                        "Studio server; sign in with an API token instead.")
    if reply.status_code >= 400:
        raise SyncError(f"The server {url} answered {reply.status_code} to the sign-in: {_server_message(reply)}")
    try:
        answer = reply.json()
        return str(answer["user"]), str(answer["token"])
    except (ValueError, KeyError, TypeError):
        raise SyncError(f"The server's answer to POST /v1/sign-in is not a sign-in; is {url} an Audience Studio server?") from None


#: How long a read of the activity stream may wait: longer than the server's keep-alive (15 s).
STREAM_READ_TIMEOUT = 45.0


@dataclass(frozen=True)
class Workspace:
    id: int
    name: str
    role: str  # admin | editor | viewer


class TeamClient(SyncClient):
    """The sync client with the team server's administration calls: sources, the audit log, the activity stream."""

    _stream: requests.Response | None = None

    def __enter__(self) -> TeamClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def interrupt(self) -> None:
        """End an activity stream now, from another thread (its blocking read fails and the stream stops)."""
        stream = self._stream
        if stream is None:
            return
        # Shut the socket down rather than close the response: closing waits for the reading thread's lock
        # (up to a keep-alive interval), while a shutdown wakes its blocking read at once with end-of-stream.
        connection = getattr(stream.raw, "connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # closed already

    def me(self) -> tuple[str, str | None, list[Workspace]]:
        """The user, the company, and the workspaces with the user's role on each."""
        me = self._json("/v1/me")
        try:
            roles = {str(k): str(v) for k, v in (me.get("roles") or {}).items()}
            found = [Workspace(int(w["id"]), str(w["name"]), roles.get(str(w["id"]), "editor")) for w in me["workspaces"]]
            return str(me["user"]), me.get("company"), found
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SyncError(f"The server's answer to GET /v1/me lacks {exc}; is {self.server_url} an Audience Studio server?") from None

    def sources(self, workspace_id: int) -> list[dict]:
        return list(self._json(f"/v1/workspaces/{workspace_id}/sources"))

    def create_source(self, workspace_id: int, kind: str, name: str) -> dict:
        return self._change("POST", f"/v1/workspaces/{workspace_id}/sources", json={"kind": kind, "name": name})

    def set_source_enabled(self, source_id: int, enabled: bool) -> dict:
        return self._change("POST", f"/v1/sources/{source_id}/{'enable' if enabled else 'disable'}")

    def rotate_secret(self, source_id: int) -> dict:
        return self._change("POST", f"/v1/sources/{source_id}/rotate")

    def audit(self, params: dict[str, Any]) -> dict:
        return self._json("/v1/audit", params)

    def batch(self, workspace_id: int, seq: int) -> dict:
        return self._json(f"/v1/workspaces/{workspace_id}/batches/{seq}")

    def _change(self, method: str, path: str, **kwargs: Any) -> dict:
        """A change is sent once (a rotated secret or a made source must not be made twice by a resend)."""
        backoff, self._backoff = self._backoff, NO_RETRY
        try:
            reply = self._request(method, path, **kwargs)
        finally:
            self._backoff = backoff
        try:
            return reply.json()
        except ValueError:
            raise SyncError(f"The server's answer to {method} {path} is not JSON.") from None

    def activity(self, workspace_id: int, filters: dict[str, str], after: str | None,
                 stopped: Callable[[], bool]) -> Iterator[StreamEvent | str]:
        """The workspace's activity stream from `after` (None: the recent backlog), until the server ends it
        or `stopped()` (asked after each event and keep-alive). Refused or unreachable: SyncError."""
        headers = {"Accept": "text/event-stream"} | ({"Last-Event-ID": after} if after else {})
        params = {k: v for k, v in filters.items() if v}
        try:
            reply = self._http.get(f"{self.server_url}/v1/workspaces/{workspace_id}/activity", params=params, headers=headers,
                                   stream=True, timeout=(10.0, STREAM_READ_TIMEOUT))
        except requests.RequestException as exc:
            raise SyncError(f"Cannot reach the server {self.server_url} ({type(exc).__name__}).") from None
        self._stream = reply
        with reply:
            if stopped():
                return
            if reply.status_code >= 400:
                raise SyncError(f"The server answered {reply.status_code} to the activity stream: {_server_message(reply)}")
            try:
                for event in read_events(_lines(reply, stopped)):
                    yield event
                    if stopped():
                        return
            except (requests.RequestException, AttributeError, ValueError) as exc:
                # AttributeError/ValueError: urllib3 reading a response that `interrupt` closed meanwhile.
                if stopped():
                    return
                raise SyncError(f"The activity stream from {self.server_url} broke off ({type(exc).__name__}).") from None
            finally:
                self._stream = None


def _lines(reply: requests.Response, stopped: Callable[[], bool]) -> Iterator[str]:
    for line in reply.iter_lines(decode_unicode=True):
        if stopped():
            return
        yield line if isinstance(line, str) else line.decode("utf-8", "replace")


@dataclass(frozen=True)
class StreamEvent:
    """One Server-Sent Event: its kind ("batch", "refused"), its item, and the position after it (its id)."""

    kind: str
    item: dict
    position: str


def read_events(lines: Iterator[str]) -> Iterator[StreamEvent | str]:
    """Server-Sent Events from the stream's lines (WHATWG's parsing rules): each event, and each bare id
    (an `id:` without data, which moves the position on without an event) as a str."""
    data: list[str] = []
    kind, position, moved = "message", None, False
    for line in lines:
        if line == "":
            if data:
                try:
                    item = json.loads("\n".join(data))
                except ValueError:
                    item = None
                if isinstance(item, dict):
                    yield StreamEvent(kind, item, position or "")
                elif moved and position is not None:
                    yield position  # not an item this app knows: skipped, but the position still moves on
            elif moved and position is not None:
                yield position
            data, kind, moved = [], "message", False
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "event":
            kind = value
        elif name == "id" and "\0" not in value:
            position, moved = value, True
