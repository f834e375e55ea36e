"""OAuth 2.0 sign-in for outputs, as RFC 8252 asks of a desktop app, and keeping its tokens fresh.

The sign-in opens the system browser (never an embedded page) on the partner's authorization URL
with PKCE (S256) and a random `state`; the partner redirects to a loopback listener on
http://127.0.0.1:<ephemeral port>/callback; the code is exchanged for tokens. Tokens are kept only in
the keyring (`secrets.SecretStore`, entry TOKENS_ENTRY of the output's service), refreshed before they
expire, and revoked (RFC 7009) when the admin signs out.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import webbrowser
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from oauthlib.oauth2 import OAuth2Error
from requests_oauthlib import OAuth2Session

from app.connectors.durations import duration_text
from app.connectors.outputs.errors import AUTHENTICATION, PartnerError
from app.connectors.outputs.loopback import LoopbackListener
from app.connectors.outputs.partner import OAuthEndpoints
from app.connectors.outputs.secrets import TOKENS_ENTRY, SecretStore
from app.connectors.reply_text import one_line
from app.errors import UserError

log = logging.getLogger(__name__)

# Both libraries log whole token responses and request bodies at DEBUG; `--verbose` must never put
# tokens in the log file, so they are held at WARNING whatever the root level is.
for _noisy in ("requests_oauthlib", "oauthlib"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

#: Refresh an access token this long before it expires, so a batch never leaves with a dying one.
REFRESH_MARGIN_SECONDS = 60.0
SIGN_IN_TIMEOUT_SECONDS = 300.0


class SignInCancelled(UserError):
    """The user declined (error=access_denied) or closed the sign-in."""


class SignInRefused(UserError):
    """The authorization server refused the sign-in, or its answer could not be trusted."""


@dataclass(frozen=True)
class OAuthClient:
    """The partner's OAuth endpoints and the app's registration with it (client_secret only for confidential apps)."""

    authorize_url: str
    token_url: str
    client_id: str
    scopes: tuple[str, ...] = ()
    revocation_url: str | None = None
    client_secret: str | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: dict, client_secret: str | None = None,
                      preset: OAuthEndpoints | None = None) -> "OAuthClient":
        """The client of an output's settings; a partner preset's endpoints and scopes fill in what they leave out."""
        def setting(key: str) -> str | None:
            return settings.get(key) or (getattr(preset, key) if preset is not None else None) or None

        return cls(setting("authorize_url"), setting("token_url"), settings["client_id"],
                   tuple((setting("scopes") or "").split()), setting("revocation_url"), client_secret)

    @property
    def partner_host(self) -> str:
        return urlsplit(self.authorize_url).netloc


@dataclass(frozen=True)
class Tokens:
    """An access token, the refresh token that renews it, and when the access token expires (epoch seconds)."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None
    token_type: str = "Bearer"
    scope: str | None = None

    @classmethod
    def from_response(cls, token: dict, previous: "Tokens | None" = None, *, scope: str | None = None) -> "Tokens":
        """The tokens of a token response; `scope` is the scope granted (see `_scope_text`)."""
        expires_at = token.get("expires_at")
        if expires_at is None and token.get("expires_in") is not None:
            expires_at = time.time() + float(token["expires_in"])
        return cls(token["access_token"],
                   # A server that does not rotate refresh tokens leaves the old one valid (RFC 6749 §6).
                   token.get("refresh_token") or (previous.refresh_token if previous else None),
                   float(expires_at) if expires_at is not None else None, token.get("token_type", "Bearer"),
                   scope if scope is not None else _scope_text(token, None))

    def to_json(self) -> str:
        return json.dumps({"access_token": self.access_token, "refresh_token": self.refresh_token,
                           "expires_at": self.expires_at, "token_type": self.token_type, "scope": self.scope})

    @classmethod
    def from_json(cls, text: str) -> "Tokens":
        return cls(**json.loads(text))


def _allow_loopback_http(*urls: str | None) -> None:
    # oauthlib refuses plain http. Settings accept http only for 127.0.0.1/localhost (a test or local
    # server), so lifting the check is safe exactly when such a URL is configured.
    if any(u and urlsplit(u).scheme == "http" and urlsplit(u).hostname in ("127.0.0.1", "localhost", "::1")
           for u in urls):
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"


def _session(client: OAuthClient, http: requests.Session | None, **kwargs) -> OAuth2Session:
    _allow_loopback_http(client.authorize_url, client.token_url, client.revocation_url)
    kwargs.setdefault("scope", list(client.scopes) or None)
    oauth = OAuth2Session(client.client_id, **kwargs)
    if http is not None:
        # Reuse the caller's connection settings (proxies, CA bundle) without sharing its cookies.
        oauth.proxies, oauth.verify = http.proxies, http.verify
    return oauth


def _granted(call: Callable[[], dict], requested: Sequence[str] | None) -> dict:
    """The token response of `call()`, whatever scope the server granted.

    RFC 6749 §3.3 lets the server grant a scope other than the one requested (it then names it, §5.1);
    oauthlib reports that by raising a Warning ("Scope has changed") with the parsed token attached,
    unless OAUTHLIB_RELAX_TOKEN_SCOPE is set for the whole process. The tokens are good: take them from
    the warning, here, rather than lift the check for every library in the process.
    """
    try:
        return dict(call())
    except Warning as changed:
        token = getattr(changed, "token", None)
        if token is None or "access_token" not in token:
            raise
        log.info("the server granted the scope %r (asked for %r)", " ".join(getattr(changed, "new_scope", None) or []),
                 " ".join(requested or []))
        return dict(token)


def _scope_text(token: dict, otherwise: str | None) -> str | None:
    """The granted scope: the response's, else (RFC 6749 §5.1: omitted means as requested) `otherwise`."""
    scope = token.get("scope")
    if isinstance(scope, (list, tuple, set)):
        scope = " ".join(scope)
    return scope or otherwise


def _browser_opened(open_browser: Callable[[str], object], url: str) -> bool:
    try:
        return open_browser(url) is not False
    except webbrowser.Error:
        return False


def sign_in(client: OAuthClient, *, open_browser: Callable[[str], object] = webbrowser.open,
            timeout: float = SIGN_IN_TIMEOUT_SECONDS, cancelled: threading.Event | None = None,
            http: requests.Session | None = None, show_url: Callable[[str], object] | None = None) -> Tokens:
    """Run the authorization-code flow with PKCE through the system browser; the tokens, or a UserError saying why not.

    When no browser can be opened, `show_url(url)` hands the address to the admin to open by hand (and the wait goes
    on); without `show_url` that is a refusal. The browser's page says whether the sign-in worked and why not.
    """
    with LoopbackListener() as listener:
        try:
            return _sign_in(client, listener, open_browser, timeout, cancelled, http, show_url)
        except UserError as exc:
            listener.tell(False, str(exc))
            raise


def _sign_in(client: OAuthClient, listener: LoopbackListener, open_browser: Callable[[str], object], timeout: float,
             cancelled: threading.Event | None, http: requests.Session | None,
             show_url: Callable[[str], object] | None) -> Tokens:
    oauth = _session(client, http, redirect_uri=listener.redirect_uri, pkce="S256")
    url, state = oauth.authorization_url(client.authorize_url)
    log.info("opening the browser to sign in to %s (redirect %s)", client.partner_host, listener.redirect_uri)
    if not _browser_opened(open_browser, url):
        if show_url is None:
            raise SignInRefused("No web browser could be opened to sign in; set a default browser and try again.")
        log.info("no browser could be opened; the sign-in address is shown to open by hand")
        show_url(url)
    answer = listener.wait(timeout, cancelled)
    if answer is None:
        raise SignInCancelled(f"Signing in to {client.partner_host} was cancelled or took longer than "
                              f"{duration_text(timeout)}; nothing was changed.")
    if answer.get("state") != state:
        # A redirect we did not ask for (another tab, or an attacker's link): never use its code.
        what = "had no state" if not answer.get("state") else "did not match the request (state differs)"
        raise SignInRefused(f"The sign-in answer {what}; nothing was changed. Try again.")
    if answer.get("error") == "access_denied":
        raise SignInCancelled(f"Signing in to {client.partner_host} was cancelled (access was not granted); "
                              "nothing was changed.")
    if "error" in answer:
        detail = answer.get("error_description") or answer["error"]
        raise SignInRefused(f"{client.partner_host} refused the sign-in: {one_line(detail)}.")
    if not answer.get("code"):
        raise SignInRefused(f"{client.partner_host} answered without an authorization code; try again.")
    try:
        token = _granted(lambda: oauth.fetch_token(client.token_url, code=answer["code"], include_client_id=True,
                                                   client_secret=client.client_secret, timeout=30), client.scopes)
    except OAuth2Error as exc:
        raise SignInRefused(f"{client.partner_host} refused to issue tokens: {exc.description or exc.error}.") from None
    except requests.RequestException:
        raise SignInRefused(f"{urlsplit(client.token_url).netloc} could not be reached to finish signing in.") from None
    except (ValueError, KeyError):  # not a token response at all (an HTML page, a proxy's answer)
        raise SignInRefused(f"{urlsplit(client.token_url).netloc} did not answer with tokens; check the Token URL.") from None
    tokens = Tokens.from_response(token, scope=_scope_text(token, " ".join(client.scopes) or None))
    listener.tell(True, f"Audience Studio is signed in to {client.partner_host}. You can close this window.")
    log.info("signed in to %s (scope %r)", client.partner_host, tokens.scope)
    return tokens


def refresh(client: OAuthClient, tokens: Tokens, http: requests.Session | None = None) -> Tokens:
    """New tokens from the refresh token; PartnerError (Authentication) when it has expired or was revoked.

    No scope is sent: RFC 6749 §6 reads that as the scope granted at sign-in (which may be narrower than the
    one configured, and asking for more is an error); a server that answers with another scope is believed.
    """
    if not tokens.refresh_token:
        raise PartnerError(f"The sign-in to {client.partner_host} has expired and cannot be renewed; re-authenticate.",
                           status=401, category=AUTHENTICATION)
    oauth = _session(client, http, scope=None)
    extra = {"client_secret": client.client_secret} if client.client_secret else {}
    try:
        token = _granted(lambda: oauth.refresh_token(client.token_url, refresh_token=tokens.refresh_token,
                                                     client_id=client.client_id, timeout=30, **extra), None)
    except OAuth2Error as exc:
        # invalid_grant: the refresh token expired or the grant was revoked; only a new sign-in helps.
        raise PartnerError(f"The sign-in to {client.partner_host} has expired or was revoked ({exc.error}); "
                           "re-authenticate.", status=exc.status_code or 401, category=AUTHENTICATION) from None
    except requests.RequestException:
        raise PartnerError(f"{urlsplit(client.token_url).netloc} could not be reached to renew the sign-in.") from None
    except (ValueError, KeyError):
        raise PartnerError(f"{urlsplit(client.token_url).netloc} did not answer the renewal with tokens.") from None
    log.info("renewed the access token for %s", client.partner_host)
    return Tokens.from_response(token, tokens, scope=_scope_text(token, tokens.scope))


def revoke(client: OAuthClient, tokens: Tokens, http: requests.Session | None = None) -> bool:
    """Revoke the refresh token (and with it, at most servers, the grant) per RFC 7009; False if there is no endpoint."""
    if not client.revocation_url:
        return False
    _allow_loopback_http(client.revocation_url)
    session = http or requests.Session()
    data = {"token": tokens.refresh_token or tokens.access_token,
            "token_type_hint": "refresh_token" if tokens.refresh_token else "access_token", "client_id": client.client_id}
    auth = (client.client_id, client.client_secret) if client.client_secret else None
    try:
        response = session.post(client.revocation_url, data=data, auth=auth, timeout=30)
    except requests.RequestException:
        raise UserError(f"{urlsplit(client.revocation_url).netloc} could not be reached to revoke the sign-in; "
                        "nothing was changed. Try again, or remove the output's access at the partner.") from None
    if response.status_code >= 400:
        raise UserError(f"{urlsplit(client.revocation_url).netloc} refused to revoke the sign-in ({response.status_code}).")
    log.info("revoked the sign-in to %s", client.partner_host)
    return True


class TokenSource:
    """The access token of one output: read from the keyring, refreshed (and saved back) before it expires."""

    def __init__(self, client: OAuthClient, secrets: SecretStore, keyring_id: str, *,
                 http: requests.Session | None = None, clock: Callable[[], float] = time.time,
                 margin: float = REFRESH_MARGIN_SECONDS):
        self._client, self._secrets, self._keyring_id = client, secrets, keyring_id
        self._http, self._clock, self._margin = http, clock, margin
        self._lock = threading.Lock()

    @property
    def client(self) -> OAuthClient:
        return self._client

    def tokens(self) -> Tokens | None:
        stored = self._secrets.load(self._keyring_id, TOKENS_ENTRY)
        return Tokens.from_json(stored) if stored else None

    def save(self, tokens: Tokens) -> None:
        self._secrets.save(self._keyring_id, TOKENS_ENTRY, tokens.to_json())

    def forget(self) -> None:
        self._secrets.delete(self._keyring_id, TOKENS_ENTRY)

    def access_token(self, fresh: bool = False) -> str:
        """A valid access token; with `fresh`, a renewed one (the partner said the old one was no good)."""
        with self._lock:
            tokens = self.tokens()
            if tokens is None:
                raise PartnerError(f"This output is not signed in to {self._client.partner_host}; authorize it first.",
                                   status=401, category=AUTHENTICATION)
            expiring = tokens.expires_at is not None and self._clock() >= tokens.expires_at - self._margin
            if fresh or expiring:
                tokens = refresh(self._client, tokens, self._http)
                self.save(tokens)
            return tokens.access_token
