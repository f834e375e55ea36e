"""OAuth 2.0 against a real authorization server (panva/oidc-provider on 127.0.0.1), driven as a browser would be.

Authorization code with PKCE through the loopback redirect, cancel and refusal messages, refresh
before expiry, a really expired token, revocation turning into an Authentication fault, and
re-authentication followed by resume.
"""

from __future__ import annotations

import random
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from app.connectors.outputs import oauth
from app.connectors.outputs.errors import PartnerError
from app.engines.forwarding import FAULTED, SENT, ForwardingEngine
from tests.outputs.browser import ScriptedBrowser
from tests.outputs.homes import NOW, change_tiers, identity_example
from tests.outputs.partners import OAuthApiSimulator
from tests.outputs.services import PARTNER_API_SECRET


def oauth_settings(server, api_url: str = "http://127.0.0.1:9/batches", scopes: str = "audiences:write") -> dict:
    return {"authorize_url": server.authorize_url, "token_url": server.token_url, "revocation_url": server.revocation_url,
            "client_id": "audience-studio", "scopes": scopes, "api_url": api_url, "identity_types": ["ios_idfa"]}


@pytest.fixture
def partner_api(oauth_server):
    simulator = OAuthApiSimulator(oauth_server.introspection_url, "partner-api", PARTNER_API_SECRET, "audiences:write")
    yield simulator
    simulator.close()


def sign_in(home, output, browser=None):
    browser = browser or ScriptedBrowser()
    try:
        return home.output_sign_in.authorize(output.id, open_browser=browser, timeout=120)
    finally:
        browser.join()


def test_sign_in_uses_pkce_s256_state_and_a_loopback_redirect_and_keeps_tokens_in_the_keyring(opened, oauth_server):
    output = opened.outputs.create("Partner API", "oauth2", oauth_settings(oauth_server))
    browser = ScriptedBrowser()
    sign_in(opened, output, browser)
    query = parse_qs(urlsplit(browser.opened[0]).query)
    redirect = urlsplit(query["redirect_uri"][0])
    assert (redirect.scheme, redirect.hostname, redirect.path) == ("http", "127.0.0.1", "/callback") and redirect.port
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 20 and query["response_type"] == ["code"]
    tokens = opened.output_sign_in.token_source(output).tokens()
    assert tokens.access_token and tokens.refresh_token and tokens.expires_at > time.time() + 20
    assert opened.outputs.secrets_present(output.id) == {"client_secret": False, "oauth_tokens": True}
    assert "access_token" not in repr(tokens) and tokens.access_token not in repr(tokens)


def test_cancelling_in_the_browser_says_so_and_changes_nothing(opened, oauth_server):
    output = opened.outputs.create("Partner API", "oauth2", oauth_settings(oauth_server))
    with pytest.raises(oauth.SignInCancelled, match="cancelled \\(access was not granted\\); nothing was changed"):
        sign_in(opened, output, ScriptedBrowser(approve=False))
    assert opened.output_sign_in.token_source(output).tokens() is None


def test_a_forged_state_is_refused(opened, oauth_server):
    output = opened.outputs.create("Partner API", "oauth2", oauth_settings(oauth_server))
    with pytest.raises(oauth.SignInRefused, match="state differs"):
        sign_in(opened, output, ScriptedBrowser(tamper_state=True))


def test_the_servers_refusal_is_shown_in_its_words(opened, oauth_server):
    # The server knows audiences:admin but does not let this client ask for it.
    output = opened.outputs.create("Scoped", "oauth2", oauth_settings(oauth_server, scopes="audiences:admin"))
    with pytest.raises(oauth.SignInRefused, match="refused the sign-in: requested scope is not allowed"):
        sign_in(opened, output)
    assert opened.output_sign_in.token_source(output).tokens() is None


def test_an_access_token_is_refreshed_before_it_expires_and_not_before_it_needs_to_be(opened, oauth_server):
    output = opened.outputs.create("Partner API", "oauth2", oauth_settings(oauth_server))
    sign_in(opened, output)
    first = opened.output_sign_in.token_source(output).tokens()
    early = opened.output_sign_in.token_source(output, clock=lambda: first.expires_at - 600)
    assert early.access_token() == first.access_token
    late = opened.output_sign_in.token_source(output, clock=lambda: first.expires_at - 30)
    renewed = late.access_token()
    assert renewed != first.access_token
    stored = opened.output_sign_in.token_source(output).tokens()
    assert stored.access_token == renewed and stored.refresh_token != first.refresh_token  # rotated, and saved


def test_an_expired_access_token_gets_a_401_then_a_refresh_and_the_batch_goes_through(opened, oauth_server, partner_api):
    home = opened
    _, _, audience = identity_example(home)
    output = home.outputs.create("Partner API", "oauth2", oauth_settings(oauth_server, partner_api.endpoint,
                                                                         "audiences:write short-lived"))
    connection = home.connections.connect(audience.id, output.id)
    sign_in(home, output)
    time.sleep(2.5)  # the server gives "short-lived" tokens 2 seconds
    # The app's clock says the token is fresh, so only the partner's 401 can tell it otherwise.
    engine = ForwardingEngine(home, now=lambda: NOW, clock=lambda: 0.0, sleep=lambda s: None, rng=random.Random(1))
    report = engine.forward_one(connection.id)
    assert (report.outcome, report.added) == (SENT, 100)
    assert partner_api.introspections >= 2 and set(partner_api.added.values()) == {1}


def test_a_revoked_sign_in_is_an_authentication_fault_until_re_authenticated_and_resumed(opened, oauth_server, partner_api):
    home = opened
    us, _, audience = identity_example(home)
    output = home.outputs.create("Partner API", "oauth2", oauth_settings(oauth_server, partner_api.endpoint))
    connection = home.connections.connect(audience.id, output.id)
    sign_in(home, output)
    engine = lambda: ForwardingEngine(home, now=lambda: NOW, sleep=lambda s: None, batch_size=40)  # noqa: E731
    assert engine().forward_one(connection.id).outcome == SENT

    assert home.output_sign_in.sign_out(output.id) is True  # revoked at the server, forgotten here
    assert home.output_sign_in.token_source(output).tokens() is None
    sign_in(home, output)
    tokens = home.output_sign_in.token_source(output).tokens()
    oauth.revoke(home.output_sign_in.oauth_client(home.outputs.get(output.id)), tokens)  # e.g. the admin revoked the app
    change_tiers(home, us.id, {3: "silver"})
    report = engine().forward_one(connection.id)
    fault = home.faults.get(report.fault_id)
    assert report.outcome == FAULTED and fault.category == "Authentication" and "re-authenticate" in fault.message

    sign_in(home, output)  # Re-authenticate
    assert engine().forward_one(connection.id).outcome != SENT  # still stopped: only Resume restarts it
    home.faults.resume(fault.id)
    resumed = engine().forward_one(connection.id)
    assert (resumed.outcome, resumed.removed) == (SENT, 1)
    assert set(partner_api.added.values()) == {1} and len(partner_api.held) == 99


def test_without_tokens_an_oauth_output_is_an_authentication_problem(opened, oauth_server):
    output = opened.outputs.create("Partner API", "oauth2", oauth_settings(oauth_server))
    with pytest.raises(PartnerError, match="not signed in") as refused:
        opened.output_sign_in.token_source(output).access_token()
    assert refused.value.category == "Authentication"


def test_the_oauth_server_really_is_oidc_provider(oauth_server):
    metadata = requests.get(oauth_server.issuer + "/.well-known/openid-configuration", timeout=5).json()
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["revocation_endpoint"] == oauth_server.revocation_url
