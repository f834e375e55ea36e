"""Meta Custom Audiences through the real forwarding engine against the Graph API simulator on 127.0.0.1."""

from __future__ import annotations

import hashlib
import random

import pytest

from app.connectors.outputs import meta_audiences
from app.connectors.outputs.directory import find_partners, partner
from app.connectors.outputs.oauth import Tokens
from app.connectors.outputs.secrets import TOKENS_ENTRY
from app.engines.forwarding import FAULTED, SENT, ForwardingEngine
from app.models.services.forwarding_runs import ForwardingRunService
from tests.connectors.ad_simulators import MetaSimulator
from tests.outputs.conftest import opened, secrets  # noqa: F401  (fixtures)
from tests.outputs.homes import NOW, change_tiers, identity_example

ACCOUNT = "123456"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def idfa_hash(n: int) -> str:
    return sha(f"{n:08x}-abcd-4000-8000-{n:012x}")


def email_hash(n: int) -> str:
    return sha(f"member{n}@example.com")


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def meta():
    simulator = MetaSimulator({"meta-token"}, ACCOUNT)
    yield simulator
    simulator.close()


@pytest.fixture
def world(opened, meta):  # noqa: F811
    us, _, audience = identity_example(opened)
    output = opened.outputs.create("Meta ads", "meta_custom_audiences",
                                   {"ad_account_id": ACCOUNT, "client_id": "998877", "api_url": meta.api_url}, {})
    opened.outputs.secrets.save(output.keyring_id, TOKENS_ENTRY, Tokens("meta-token").to_json())
    connection = opened.connections.connect(audience.id, output.id)
    return opened, us, output, connection


def engine(home, sleeps=None, **options) -> ForwardingEngine:
    return ForwardingEngine(home, now=lambda: NOW, sleep=sleeps if sleeps is not None else Sleeps(),
                            rng=random.Random(3), **options)


def test_the_directory_offers_meta_with_facebook_login_presets():
    declared = partner("meta_custom_audiences")
    assert "meta_custom_audiences" in [p.key for p in find_partners(name="meta", category="Advertising")]
    defaults = {f.key: f.default for f in declared.configuration_fields}
    version = meta_audiences.GRAPH_API_VERSION
    assert defaults["authorize_url"] == f"https://www.facebook.com/{version}/dialog/oauth"
    assert defaults["token_url"] == f"https://graph.facebook.com/{version}/oauth/access_token"
    assert defaults["api_url"] == f"https://graph.facebook.com/{version}"
    assert defaults["scopes"] == "ads_management"
    assert (declared.auth, declared.max_batch) == ("oauth2", 10_000)


def test_full_upload_creates_the_audience_and_adds_hashed_rows_in_the_documented_shape(world, meta):
    home, _, _, connection = world
    report = engine(home, batch_size=70).forward_one(connection.id)
    assert (report.outcome, report.added) == (SENT, 165)
    (audience, name), = meta.audiences.items()
    assert name == "Gold members"
    # 100 IDFAs (lower-cased before hashing) and 65 emails (trimmed and lower-cased before hashing).
    assert meta.members[audience] == ({("MADID_SHA256", idfa_hash(n)) for n in range(1, 101)}
                                      | {("EMAIL_SHA256", email_hash(n)) for n in range(1, 66)})
    create, *uploads = meta.requests
    assert (create[0], create[1]) == ("POST", f"/v21.0/act_{ACCOUNT}/customaudiences")
    assert create[3]["subtype"] == "CUSTOM" and create[3]["customer_file_source"] == "USER_PROVIDED_ONLY"
    for method, path, headers, body in uploads:
        assert (method, path) == ("POST", f"/v21.0/{audience}/users")
        assert headers["authorization"] == "Bearer meta-token"
        assert body["payload"]["schema"] == ["EMAIL_SHA256", "PHONE_SHA256", "MADID_SHA256"]
        assert sum(1 for cell in sum(body["payload"]["data"], []) if cell) == len(body["payload"]["data"])
        assert body["session"]["last_batch_flag"] is True
    assert [len(body["payload"]["data"]) for *_, body in uploads] == [70, 70, 25]


def test_leavers_are_removed_with_delete_and_the_same_schema(world, meta):
    home, us, _, connection = world
    engine(home).forward_one(connection.id)
    meta.requests.clear()
    change_tiers(home, us.id, {1: "silver", 2: "silver"})
    report = engine(home).forward_one(connection.id)
    assert (report.outcome, report.removed) == (SENT, 4)   # two IDFAs and the two emails of those profiles
    (method, _, _, body), = meta.requests
    assert method == "DELETE"
    removed = {cell for row in body["payload"]["data"] for cell in row if cell}
    assert removed == {idfa_hash(1), idfa_hash(2), email_hash(1), email_hash(2)}


def test_invalid_entries_are_refused_records_and_the_rest_is_held(world, meta):
    home, _, _, connection = world
    meta.unusable = {email_hash(3): "Invalid email hash", idfa_hash(4): "Invalid MADID"}
    report = engine(home).forward_one(connection.id)
    assert (report.outcome, report.added, report.rejected) == (SENT, 163, 2)
    refused = {(r.identity_type, r.reason) for r in ForwardingRunService(home.store).rejected(connection.id)}
    assert refused == {("email", "Invalid email hash"), ("ios_idfa", "Invalid MADID")}
    # Not offered again while they stay in the audience.
    meta.requests.clear()
    assert engine(home).forward_one(connection.id).batches == 0 and meta.requests == []


def test_throttling_waits_as_long_as_meta_estimates_then_sends(world, meta):
    home, _, _, connection = world
    meta.throttle_next(minutes=2, times=2)
    sleeps = Sleeps()
    report = engine(home, sleeps).forward_one(connection.id)
    assert (report.outcome, report.added) == (SENT, 165)
    assert len(sleeps) == 2 and min(sleeps) >= 120


def test_a_throttle_longer_than_the_background_wait_faults_as_rate_limiting(world, meta):
    home, _, _, connection = world
    meta.throttle_next(minutes=60)
    report = engine(home).forward_one(connection.id)
    assert report.outcome == FAULTED
    fault = home.faults.get(report.fault_id)
    assert fault.category == "Rate limiting" and "80003" in fault.message


def test_an_expired_token_is_an_authentication_fault_asking_to_sign_in_again(world, meta):
    home, _, _, connection = world
    meta.expired.add("meta-token")
    report = engine(home).forward_one(connection.id)
    assert report.outcome == FAULTED
    fault = home.faults.get(report.fault_id)
    assert fault.category == "Authentication" and "Re-authenticate" in fault.message
    assert fault.retries == 0


def test_graph_throttle_headers_give_the_wait():
    header = '{"123": [{"type": "custom_audience", "estimated_time_to_regain_access": 3}, {"type": "ads_management"}]}'
    assert meta_audiences.regain_access_seconds(header) == 180
    assert meta_audiences.regain_access_seconds("not json") is None
    assert meta_audiences.regain_access_seconds(None) is None


def test_a_token_past_its_expiry_faults_as_authentication_without_calling_meta(world, meta):
    home, _, output, connection = world
    # Meta's tokens come with expires_in and no refresh token: past expiry only a new sign-in helps.
    home.outputs.secrets.save(output.keyring_id, TOKENS_ENTRY, Tokens("meta-token", None, NOW.timestamp() - 60).to_json())
    report = ForwardingEngine(home, now=lambda: NOW, clock=lambda: NOW.timestamp(), sleep=Sleeps()).forward_one(connection.id)
    assert report.outcome == FAULTED
    fault = home.faults.get(report.fault_id)
    assert fault.category == "Authentication" and "re-authenticate" in fault.message.lower()
    assert meta.requests == []


def test_a_new_output_keeps_the_sign_in_presets_for_the_browser_sign_in(world):
    home, _, output, _ = world
    from app.engines.output_sign_in import OutputSignIn
    client = OutputSignIn(home.outputs).oauth_client(home.outputs.get(output.id))
    assert (client.authorize_url, client.token_url, client.scopes, client.client_id) == (
        meta_audiences.AUTHORIZE_URL, meta_audiences.TOKEN_URL, ("ads_management",), "998877")


def test_with_the_app_secret_every_call_carries_appsecret_proof(opened, meta):  # noqa: F811
    _, _, audience = identity_example(opened)
    meta.app_secret = "app-secret-123"
    output = opened.outputs.create("Meta ads", "meta_custom_audiences",
                                   {"ad_account_id": ACCOUNT, "client_id": "998877", "api_url": meta.api_url},
                                   {"client_secret": "app-secret-123"})
    opened.outputs.secrets.save(output.keyring_id, TOKENS_ENTRY, Tokens("meta-token").to_json())
    report = engine(opened).forward_one(opened.connections.connect(audience.id, output.id).id)
    assert (report.outcome, report.added) == (SENT, 165)


def test_without_the_proof_a_secret_requiring_app_refuses_as_configuration(world, meta):
    home, _, _, connection = world
    meta.app_secret = "app-secret-123"     # the app requires it, but the output has no app secret
    report = engine(home).forward_one(connection.id)
    fault = home.faults.get(report.fault_id)
    assert (report.outcome, fault.category) == (FAULTED, "Configuration") and "appsecret_proof" in fault.message
