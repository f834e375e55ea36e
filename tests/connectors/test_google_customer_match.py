"""Google Ads Customer Match through the real forwarding engine against the Google Ads API simulator on 127.0.0.1."""

from __future__ import annotations

import hashlib
import random

import pytest

from app.connectors.outputs import google_customer_match as gcm
from app.connectors.outputs.directory import partner
from app.connectors.outputs.oauth import Tokens
from app.connectors.outputs.secrets import TOKENS_ENTRY
from app.engines.forwarding import FAULTED, SENT, ForwardingEngine
from app.models.services.forwarding_runs import ForwardingRunService
from tests.builder.test_compiler_examples import profile
from tests.builder.workspaces import load
from tests.connectors.ad_simulators import GoogleAdsSimulator
from tests.outputs.conftest import opened, secrets  # noqa: F401  (fixtures)
from tests.outputs.homes import GOLD, NOW

CUSTOMER = "1234567890"
PEOPLE = 12


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def member(n: int, tier: str = "gold") -> dict:
    # As a CRM holds them: a Gmail address with dots and capitals, a formatted US number.
    return profile(n, user_attributes={"loyalty_tier": tier},
                   user_identities={"email": f" Jane.Doe{n}@Gmail.com ", "mobile_number": f"+1 (415) 555-01{n:02d}"})


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def google():
    simulator = GoogleAdsSimulator("dev-token", CUSTOMER, "google-refresh")
    simulator.valid_tokens.add("google-access")
    yield simulator
    simulator.close()


@pytest.fixture
def world(opened, google):  # noqa: F811
    us = opened.workspaces.create("US", [("platform", "iOS")])
    load(opened.cache, [(us.id, member(n)) for n in range(1, PEOPLE + 1)])
    audience = opened.audiences.create("Gold members", workspace_ids=[us.id], criteria=GOLD)
    opened.audiences.activate(audience.id)
    output = opened.outputs.create("Google Ads", "google_customer_match", {
        "customer_id": "123-456-7890", "login_customer_id": "111-222-3333", "client_id": "app.apps.googleusercontent.com",
        "api_url": google.api_url,
        "token_url": google.url("/token"), "consent": "GRANTED"}, {"developer_token": "dev-token"})
    opened.outputs.secrets.save(output.keyring_id, TOKENS_ENTRY,
                                Tokens("google-access", "google-refresh", NOW.timestamp() + 10 ** 9).to_json())
    return opened, us, output, opened.connections.connect(audience.id, output.id)


def engine(home, sleeps=None, **options) -> ForwardingEngine:
    return ForwardingEngine(home, now=lambda: NOW, sleep=sleeps if sleeps is not None else Sleeps(),
                            rng=random.Random(5), **options)


def expected(n: int) -> set[tuple[str, str]]:
    return {("hashedEmail", sha(f"janedoe{n}@gmail.com")), ("hashedPhoneNumber", sha(f"+141555501{n:02d}"))}


def test_the_directory_offers_customer_match_with_google_sign_in_presets():
    declared = partner("google_customer_match")
    defaults = {f.key: f.default for f in declared.configuration_fields}
    assert defaults["authorize_url"].startswith("https://accounts.google.com/")
    assert defaults["token_url"] == "https://oauth2.googleapis.com/token"
    assert defaults["scopes"] == "https://www.googleapis.com/auth/adwords"
    assert defaults["api_url"] == f"https://googleads.googleapis.com/{gcm.API_VERSION}"
    assert (declared.auth, declared.max_batch, declared.identity_types) == ("oauth2", 100_000, ("email", "mobile_number"))
    assert [f.key for f in declared.secret_fields] == ["developer_token", "client_secret"]


def test_full_upload_is_a_list_then_one_offline_user_data_job_per_batch(world, google):
    home, _, _, connection = world
    report = engine(home, batch_size=10).forward_one(connection.id)
    assert (report.outcome, report.added, report.batches) == (SENT, 2 * PEOPLE, 3)
    (user_list, name), = google.lists.items()
    assert name == "Gold members"
    assert google.members[user_list] == set().union(*(expected(n) for n in range(1, PEOPLE + 1)))
    paths = [path.removeprefix(f"/{gcm.API_VERSION}/customers/{CUSTOMER}/") for _, path, _, _ in google.requests]
    assert paths[0] == "userLists:mutate"
    assert [p.rsplit(":", 1)[1] for p in paths[1:]] == ["create", "addOperations", "run"] * 3
    for _, _, headers, body in google.requests:
        assert headers["developer-token"] == "dev-token" and headers["authorization"] == "Bearer google-access"
        assert headers["login-customer-id"] == "1112223333"
    jobs = [body for _, path, _, body in google.requests if path.endswith("offlineUserDataJobs:create")]
    assert jobs[0]["job"]["customerMatchUserListMetadata"] == {
        "userList": user_list, "consent": {"adUserData": "GRANTED", "adPersonalization": "GRANTED"}}
    adds = [body for _, path, _, body in google.requests if path.endswith(":addOperations")]
    assert all(body["enablePartialFailure"] is True for body in adds)
    assert [len(body["operations"]) for body in adds] == [10, 10, 4]
    assert all(list(op) == ["create"] and len(op["create"]["userIdentifiers"]) == 1
               for body in adds for op in body["operations"])


def test_leavers_are_remove_operations(world, google):
    home, us, _, connection = world
    engine(home).forward_one(connection.id)
    google.requests.clear()
    load(home.cache, [(us.id, member(3, tier="silver"))])
    report = engine(home).forward_one(connection.id)
    assert (report.outcome, report.removed) == (SENT, 2)
    (body,) = [b for _, path, _, b in google.requests if path.endswith(":addOperations")]
    assert {tuple(op["remove"]["userIdentifiers"][0].items())[0] for op in body["operations"]} == expected(3)
    assert not expected(3) & next(iter(google.members.values()))


def test_partial_failures_name_operations_by_index_and_become_refused_records(world, google):
    home, _, _, connection = world
    google.refused = {sha("janedoe4@gmail.com"): "INVALID_SHA256_FORMAT",
                      sha("+14155550107"): "INCOMPATIBLE_UPLOAD_KEY_TYPE"}
    report = engine(home).forward_one(connection.id)
    assert (report.outcome, report.added, report.rejected) == (SENT, 2 * PEOPLE - 2, 2)
    refused = {(r.identity_type, r.reason) for r in ForwardingRunService(home.store).rejected(connection.id)}
    assert refused == {("email", "Refused: INVALID_SHA256_FORMAT."), ("mobile_number", "Refused: INCOMPATIBLE_UPLOAD_KEY_TYPE.")}


def test_an_expired_access_token_is_refreshed_once_and_the_batch_sent(world, google):
    home, _, output, connection = world
    google.valid_tokens.clear()     # the stored access token was revoked early
    report = engine(home).forward_one(connection.id)
    assert (report.outcome, report.added) == (SENT, 2 * PEOPLE)
    assert google.refreshes == 1
    stored = Tokens.from_json(home.outputs.secrets.load(output.keyring_id, TOKENS_ENTRY))
    assert stored.access_token == "fresh-access-1" and stored.refresh_token == "google-refresh"


def test_a_revoked_refresh_token_is_an_authentication_fault(world, google):
    home, _, _, connection = world
    google.valid_tokens.clear()
    google.refresh_token = "another"
    report = engine(home).forward_one(connection.id)
    assert report.outcome == FAULTED
    assert home.faults.get(report.fault_id).category == "Authentication"


def test_resource_exhausted_is_retried_honouring_retry_after(world, google):
    home, _, _, connection = world
    google.resource_exhausted(times=2)
    sleeps = Sleeps()
    report = engine(home, sleeps).forward_one(connection.id)
    assert (report.outcome, report.added) == (SENT, 2 * PEOPLE)
    assert len(sleeps) == 2 and min(sleeps) >= 2     # Retry-After: 2 is the floor of each wait
    assert len(google.lists) == 1                    # the refused list creation was not made twice


def test_a_wrong_developer_token_faults_without_sending_members(opened, google):  # noqa: F811
    us = opened.workspaces.create("US", [("platform", "iOS")])
    load(opened.cache, [(us.id, member(1))])
    audience = opened.audiences.create("Gold", workspace_ids=[us.id], criteria=GOLD)
    opened.audiences.activate(audience.id)
    output = opened.outputs.create("Google Ads", "google_customer_match", {
        "customer_id": CUSTOMER, "client_id": "c", "api_url": google.api_url, "token_url": google.url("/token")},
        {"developer_token": "wrong"})
    opened.outputs.secrets.save(output.keyring_id, TOKENS_ENTRY, Tokens("google-access", "google-refresh").to_json())
    report = engine(opened).forward_one(opened.connections.connect(audience.id, output.id).id)
    assert report.outcome == FAULTED and google.members == {}


def test_partial_failure_without_operation_index_refuses_nothing():
    from app.connectors.outputs.batches import Batch, Identity
    batch = Batch("b", 1, "add", (Identity("email", "a" * 64),))
    assert gcm.partial_failures(batch, {"partialFailureError": {"code": 3, "message": "odd", "details": []}}) == []
    assert gcm.customer_id("123-456-7890") == "1234567890"
