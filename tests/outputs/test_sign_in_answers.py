"""What a standards-compliant authorization server may answer, and what the browser and the app say about it.

Granted scopes other than the requested ones (RFC 6749 §3.3) and token responses without `scope`
(§5.1), at sign-in and at refresh, forwarding included; the loopback page after a refused answer
(state missing or different, `error=` per §4.1.2.1); a browser that cannot be opened; the timeout's
wording. Against panva/oidc-provider (tests/oauth_server) where it can produce the case, else
tests/outputs/token_server.py.
"""

from __future__ import annotations

import random
import threading

import pytest

from app.connectors.durations import duration_text
from app.connectors.outputs import oauth
from app.engines.forwarding import SENT, ForwardingEngine
from tests.outputs.browser import ScriptedBrowser
from tests.outputs.homes import NOW, identity_example
from tests.outputs.partners import OAuthApiSimulator
from tests.outputs.services import PARTNER_API_SECRET
from tests.outputs.test_oauth import oauth_settings, sign_in
from tests.outputs.token_server import TokenServer


@pytest.fixture
def partner_api(oauth_server):
    simulator = OAuthApiSimulator(oauth_server.introspection_url, "partner-api", PARTNER_API_SECRET, "audiences:write")
    yield simulator
    simulator.close()


@pytest.fixture
def token_server_factory():
    made = []

    def make(scope_answer):
        made.append(TokenServer(scope_answer))
        return made[-1]

    yield make
    for server in made:
        server.close()


# -- granted scope ------------------------------------------------------------------------------


def test_a_narrower_granted_scope_signs_in_records_it_and_refreshes_while_forwarding(opened, oauth_server, partner_api):
    # oidc-provider drops offline_access unless the user is asked for consent again: it grants less than asked for.
    home = opened
    _, _, audience = identity_example(home)
    output = home.outputs.create("Partner API", "oauth2", oauth_settings(
        oauth_server, partner_api.endpoint, scopes="openid offline_access audiences:write"))
    connection = home.connections.connect(audience.id, output.id)
    browser = ScriptedBrowser()
    sign_in(home, output, browser)
    tokens = home.output_sign_in.token_source(output).tokens()
    assert set(tokens.scope.split()) == {"openid", "audiences:write"} and tokens.refresh_token
    assert browser.last_page[0] == 200 and "Signed in" in browser.last_page[1]

    # The engine's clock says the token is about to expire: it is renewed before the first batch.
    engine = ForwardingEngine(home, now=lambda: NOW, clock=lambda: tokens.expires_at, sleep=lambda s: None,
                              rng=random.Random(1))
    report = engine.forward_one(connection.id)
    assert (report.outcome, report.added) == (SENT, 100)
    renewed = home.output_sign_in.token_source(output).tokens()
    assert renewed.access_token != tokens.access_token and renewed.refresh_token != tokens.refresh_token  # saved
    assert set(renewed.scope.split()) == {"openid", "audiences:write"}


def test_a_token_response_without_scope_means_the_requested_scope(opened, token_server_factory):
    server = token_server_factory(lambda requested, grant: None)
    output = opened.outputs.create("Quiet", "oauth2", server.settings("lists:write members:read"))
    sign_in(opened, output)
    source = opened.output_sign_in.token_source(output, clock=lambda: 10 ** 12)  # long expired: refresh
    first = source.tokens()
    assert first.scope == "lists:write members:read"
    source.access_token()
    renewed = source.tokens()
    assert renewed.refresh_token != first.refresh_token and renewed.scope == "lists:write members:read"
    # RFC 6749 §6: the renewal asks for no scope, which means the one granted.
    assert "scope" not in server.token_requests[-1]


def test_a_refresh_that_grants_another_scope_keeps_the_new_tokens(opened, token_server_factory):
    server = token_server_factory(lambda requested, grant: "lists:write" if grant == "refresh_token" else requested)
    output = opened.outputs.create("Narrowing", "oauth2", server.settings("lists:write members:read"))
    sign_in(opened, output)
    source = opened.output_sign_in.token_source(output, clock=lambda: 10 ** 12)
    first = source.tokens()
    token = source.access_token()
    renewed = source.tokens()
    assert token == renewed.access_token != first.access_token
    assert renewed.refresh_token != first.refresh_token and renewed.scope == "lists:write"
    # The rotated refresh token was kept, so the next renewal works too.
    assert source.access_token() != token


# -- the browser's page after the callback -------------------------------------------------------


def test_a_forged_state_tells_the_browser_it_failed(opened, oauth_server):
    output = opened.outputs.create("Partner API", "oauth2", oauth_settings(oauth_server))
    browser = ScriptedBrowser(tamper_state=True)
    with pytest.raises(oauth.SignInRefused, match="state differs"):
        sign_in(opened, output, browser)
    status, page = browser.last_page
    assert status == 400 and "Sign-in failed" in page and "state differs" in page and "Signed in<" not in page


def test_a_missing_state_is_refused_and_the_browser_says_why(opened, oauth_server):
    output = opened.outputs.create("Partner API", "oauth2", oauth_settings(oauth_server))
    browser = ScriptedBrowser(drop_state=True)
    with pytest.raises(oauth.SignInRefused, match="had no state"):
        sign_in(opened, output, browser)
    assert browser.last_page[0] == 400 and "had no state" in browser.last_page[1]
    assert opened.output_sign_in.token_source(output).tokens() is None


def test_an_error_answer_tells_the_browser_the_servers_reason(opened, oauth_server):
    output = opened.outputs.create("Scoped", "oauth2", oauth_settings(oauth_server, scopes="audiences:admin"))
    browser = ScriptedBrowser()
    with pytest.raises(oauth.SignInRefused, match="requested scope is not allowed"):
        sign_in(opened, output, browser)
    status, page = browser.last_page
    assert status == 400 and "Sign-in failed" in page and "requested scope is not allowed" in page


def test_a_refused_token_exchange_is_not_signed_in_either(opened, oauth_server):
    # The token URL points at the authorization server's revocation endpoint: the code exchange fails.
    settings = dict(oauth_settings(oauth_server), token_url=oauth_server.issuer + "/nowhere")
    output = opened.outputs.create("Wrong token URL", "oauth2", settings)
    browser = ScriptedBrowser()
    with pytest.raises(oauth.SignInRefused):
        sign_in(opened, output, browser)
    assert browser.last_page[0] == 400 and "Sign-in failed" in browser.last_page[1]


# -- no browser, and the wait's wording ----------------------------------------------------------


def test_without_a_browser_the_address_is_handed_over_and_the_sign_in_still_completes(opened, token_server_factory):
    server = token_server_factory(lambda requested, grant: requested)
    output = opened.outputs.create("By hand", "oauth2", server.settings("lists:write"))
    by_hand = ScriptedBrowser()
    shown = []

    def show_url(url):
        shown.append(url)
        by_hand(url)  # the admin copies it into a browser

    try:
        opened.output_sign_in.authorize(output.id, open_browser=lambda url: False, show_url=show_url, timeout=60)
    finally:
        by_hand.join()
    assert shown and shown[0].startswith(server.url + "/authorize?")
    assert opened.output_sign_in.token_source(output).tokens().scope == "lists:write"


def test_without_a_browser_and_nowhere_to_show_the_address_it_says_so(opened, token_server_factory):
    server = token_server_factory(lambda requested, grant: requested)
    output = opened.outputs.create("No browser", "oauth2", server.settings("lists:write"))
    with pytest.raises(oauth.SignInRefused, match="No web browser could be opened"):
        opened.output_sign_in.authorize(output.id, open_browser=lambda url: False, timeout=5)


def test_a_short_wait_is_named_in_seconds_not_zero_minutes(opened, token_server_factory):
    server = token_server_factory(lambda requested, grant: requested)
    output = opened.outputs.create("Slow", "oauth2", server.settings("lists:write"))
    with pytest.raises(oauth.SignInCancelled, match="took longer than 2 seconds; nothing was changed"):
        opened.output_sign_in.authorize(output.id, open_browser=lambda url: True, timeout=2,
                                        cancelled=threading.Event())


@pytest.mark.parametrize("seconds, text", [
    (0.2, "less than a second"), (1, "1 second"), (30, "30 seconds"), (60, "1 minute"), (90, "1 minute 30 seconds"),
    (300, "5 minutes"), (3600, "1 hour"), (3725, "1 hour 2 minutes 5 seconds"),
])
def test_durations_in_words(seconds, text):
    assert duration_text(seconds) == text


def test_a_presets_endpoints_and_scopes_sign_in_with_only_the_client_id(token_server_factory):
    from app.connectors.outputs.partner import OAuthEndpoints

    server = token_server_factory(lambda requested, grant: requested)
    endpoints = OAuthEndpoints("Test provider", server.url + "/authorize", server.url + "/token",
                               scopes="offline_access lists:write")
    client = oauth.OAuthClient.from_settings({"client_id": "audience-studio"}, preset=endpoints)
    browser = ScriptedBrowser()
    try:
        tokens = oauth.sign_in(client, open_browser=browser, timeout=60)
    finally:
        browser.join()
    assert "scope=offline_access+lists%3Awrite" in browser.opened[0] and "code_challenge_method=S256" in browser.opened[0]
    assert tokens.scope == "offline_access lists:write" and tokens.refresh_token
