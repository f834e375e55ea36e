"""Property-based tests of the API against its own OpenAPI document (schemathesis): generated requests
to the ingest and sync endpoints, authenticated, must never be a server error and every answer must
match what /openapi.json declares (status codes, media types, bodies, headers)."""

from __future__ import annotations

import uuid

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests import factories
from tests.server.conftest import DATABASE
from tests.server.live import Deployment

#: Generated requests per operation (a third of it for bulk requests, whose lists of batches are slow
#: to generate): enough to find the shapes a handler forgot, few enough to stay quick.
EXAMPLES = 15

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_api(request, tmp_path_factory):
    """One server per database for the module, with a workspace that holds data, an input and a user,
    and its OpenAPI schema. The rate is high so generated requests reach the handlers."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'server.sqlite3'}"
    else:
        postgres = request.getfixturevalue("postgres")
        name = "openapi_" + uuid.uuid4().hex[:8]
        postgres.admin_execute(f'CREATE SCHEMA "{name}"', DATABASE)
        request.addfinalizer(lambda: postgres.admin_execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE', DATABASE))
        url = postgres.url(DATABASE, schema=name)
    # Activity streams end after a moment, so a generated `follow=true` request ends too.
    deployment = Deployment.start(url, rate_per_second=10_000, rate_burst=10_000, activity_stream_seconds=0.3,
                                  activity_poll_seconds=0.1, snapshot_dir=tmp_path_factory.mktemp("snapshots"))
    request.addfinalizer(lambda: deployment.__exit__(None, None, None))
    workspace_id = deployment.workspace("US")
    ios = deployment.platform_input("US", "iOS")
    assert deployment.http.post("/v2/bulkevents", json=[factories.batch(1), factories.batch(2, events=[factories.purchase()])],
                                auth=ios.auth).status_code == 202
    bearer = deployment.user_token("ann", ["US"])
    deployment.http.post("/v1/audiences", json={"name": "Seed", "workspace_ids": [workspace_id],
                                                 "criteria": {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "exclude": False, "children": []}}},
                         headers=bearer)
    schema = schemathesis.openapi.from_url(f"{deployment.server.base_url}/openapi.json")
    basic = httpx.BasicAuth(*ios.auth)._auth_header
    return deployment, schema, {"bearer": bearer, "basic": {"Authorization": basic}}


#: Every operation of the API; the last test checks the OpenAPI document has no other.
OPERATIONS = [
    ("POST", "/v2/events"), ("POST", "/v2/bulkevents"), ("GET", "/v1/me"), ("GET", "/v1/workspaces/{workspace_id}/changes"),
    ("GET", "/v1/workspaces/{workspace_id}/pages/{page}/{table}"), ("GET", "/v1/workspaces/{workspace_id}/snapshot"),
    ("GET", "/v1/workspaces/{workspace_id}/snapshots/{token}/{table}"), ("GET", "/v1/audiences"), ("POST", "/v1/audiences"),
    ("GET", "/v1/audiences/by-client-ref/{client_ref}"),
    ("GET", "/v1/audiences/{audience_id}"), ("PUT", "/v1/audiences/{audience_id}"), ("DELETE", "/v1/audiences/{audience_id}"),
    ("GET", "/health"),
    ("POST", "/v1/workspaces/{workspace_id}/revenue"), ("GET", "/v1/workspaces/{workspace_id}/revenue/changes"),
    ("GET", "/v1/workspaces/{workspace_id}/revenue/pages/{page}/{table}"),
    ("GET", "/v1/company"), ("POST", "/v1/invitations"), ("GET", "/v1/invitations"), ("POST", "/v1/invitations/{invitation_id}/resend"),
    ("POST", "/v1/activate"), ("POST", "/v1/sign-in"), ("GET", "/v1/workspaces/{workspace_id}/members"),
    ("PUT", "/v1/workspaces/{workspace_id}/members/{user}/role"), ("DELETE", "/v1/workspaces/{workspace_id}/members/{user}"),
    ("GET", "/v1/audit"), ("POST", "/v1/audience-versions"), ("GET", "/v1/audience-versions"),
    ("GET", "/v1/workspaces/{workspace_id}/sources"), ("POST", "/v1/workspaces/{workspace_id}/sources"),
    ("POST", "/v1/sources/{source_id}/disable"), ("POST", "/v1/sources/{source_id}/enable"), ("POST", "/v1/sources/{source_id}/rotate"),
    ("GET", "/v1/workspaces/{workspace_id}/activity"), ("GET", "/v1/workspaces/{workspace_id}/batches/{seq}"),
]


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_the_api_answers_as_its_openapi_document_says(live_api, method, path):
    deployment, schema, auth = live_api
    headers = auth["basic"] if path.startswith("/v2/") else auth["bearer"]

    operation = schema[path][method]
    cases = operation.as_strategy(GenerationMode.POSITIVE)
    if operation.path_parameters or operation.query or operation.body:  # something to get wrong
        cases = cases | operation.as_strategy(GenerationMode.NEGATIVE)

    @given(case=cases)
    @settings(max_examples=EXAMPLES // 3 if path == "/v2/bulkevents" else EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def answers_as_declared(case):
        case.call_and_validate(base_url=deployment.server.base_url, headers=headers, checks=CHECKS)

    answers_as_declared()


def test_the_operations_tested_are_all_the_api_has(live_api):
    _, schema, _ = live_api
    declared = {(method.upper(), path) for path, item in schema.raw_schema["paths"].items() for method in item}
    assert declared == set(OPERATIONS)
