"""Signing outputs in and out at their partners (OAuth 2.0), and what a partner client needs to send.

The output service (app/models/services/outputs.py) keeps the store and the keyring; this engine makes the
requests: the browser sign-in and the token exchange, token refreshes, the revocation on sign-out, and the
partner context (settings, secrets, HTTP session and access tokens) that forwarding hands to a partner client.
"""

from __future__ import annotations

import threading
import time
import webbrowser
from collections.abc import Callable

import requests

from app.connectors.outputs import oauth
from app.connectors.outputs.directory import partner
from app.connectors.outputs.oauth import OAuthClient, TokenSource
from app.connectors.outputs.partner import PartnerContext
from app.errors import UserError
from app.models.services.outputs import OutputInfo, OutputService


class OutputSignIn:
    """Sign-in, sign-out and partner contexts for the outputs of `outputs` (the service, with its keyring)."""

    def __init__(self, outputs: OutputService) -> None:
        self.outputs = outputs

    def oauth_client(self, output: OutputInfo) -> OAuthClient:
        declared = partner(output.partner)
        if declared.auth != "oauth2":
            raise UserError(f'Output "{output.name}" does not sign in with OAuth 2.0; edit its credentials instead.')
        return OAuthClient.from_settings(output.settings, self.outputs.secrets.load(output.keyring_id, "client_secret"),
                                         declared.oauth_endpoints)

    def token_source(self, output: OutputInfo, *, http: requests.Session | None = None,
                     clock: Callable[[], float] = time.time) -> TokenSource:
        return TokenSource(self.oauth_client(output), self.outputs.secrets, output.keyring_id, http=http, clock=clock)

    def authorize(self, name_or_id: str | int, *, open_browser: Callable[[str], object] = webbrowser.open,
                  timeout: float = oauth.SIGN_IN_TIMEOUT_SECONDS, cancelled: threading.Event | None = None,
                  show_url: Callable[[str], object] | None = None) -> OutputInfo:
        """Sign the output in (or again) through the system browser; its tokens replace any old ones in the keyring.

        `show_url(url)` is called when no browser can be opened, to let the admin open the address by hand."""
        current = self.outputs.get(name_or_id)
        client = self.oauth_client(current)
        tokens = oauth.sign_in(client, open_browser=open_browser, timeout=timeout, cancelled=cancelled,
                               show_url=show_url)
        TokenSource(client, self.outputs.secrets, current.keyring_id).save(tokens)
        self.outputs.signed_in(current.id)
        return current

    def sign_out(self, name_or_id: str | int) -> bool:
        """Revoke the output's tokens at the partner (when it has a revocation URL) and forget them."""
        current = self.outputs.get(name_or_id)
        source = self.token_source(current)
        tokens = source.tokens()
        revoked = False
        if tokens is not None:
            revoked = oauth.revoke(source.client, tokens)
        source.forget()
        return revoked

    def context(self, output: OutputInfo, *, http: requests.Session,
                clock: Callable[[], float] = time.time) -> PartnerContext:
        """What the output's partner client needs: settings, secrets by key, HTTP session, token source."""
        declared = partner(output.partner)
        tokens = self.token_source(output, http=http, clock=clock) if declared.auth == "oauth2" else None
        return PartnerContext(dict(output.settings), lambda key: self.outputs.secrets.load(output.keyring_id, key),
                              http, tokens.access_token if tokens is not None else None)
