"""Webhook signatures per Standard Webhooks: a receiver on 127.0.0.1 verifies every batch with the stock
`standardwebhooks` library, and uses webhook-id as its idempotency key."""

from __future__ import annotations

import base64
import datetime as dt
import json
import random

import pytest
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from werkzeug import Request, Response

from app.connectors.outputs.webhook import signing_key, standard_signature
from app.engines.forwarding import FAULTED, SENT, ForwardingEngine
from tests.outputs.conftest import opened, secrets  # noqa: F401  (fixtures)
from tests.outputs.homes import NOW, identity_example

WHSEC = "whsec_" + base64.b64encode(bytes(range(32))).decode()


class Receiver:
    """An endpoint that verifies each request as Standard Webhooks receivers do, and drops repeated webhook-ids."""

    def __init__(self, verifier: Webhook):
        self.verifier = verifier
        self.server = HTTPServer(host="127.0.0.1", port=0)
        self.server.start()
        self.server.expect_request("/hook", method="POST").respond_with_handler(self._handle)
        self.seen: dict[str, int] = {}
        self.headers: list[dict] = []
        self.identities: set[str] = set()
        self.lose_reply_once = False

    def _handle(self, request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.headers.append(headers)
        try:
            body = self.verifier.verify(request.get_data(), headers)
        except WebhookVerificationError as exc:
            return Response(json.dumps({"error": str(exc)}), status=401, content_type="application/json")
        message = headers["webhook-id"]
        self.seen[message] = self.seen.get(message, 0) + 1
        if self.seen[message] == 1:   # a repeated message id is acknowledged, not processed again
            self.identities |= {i["value"] for i in body["identities"]}
        if self.lose_reply_once:
            self.lose_reply_once = False
            return Response("gateway lost the reply", status=502)
        return Response("{}", status=200, content_type="application/json")

    def close(self) -> None:
        self.server.clear()
        self.server.stop()


@pytest.fixture
def receiver():
    receiver = Receiver(Webhook(WHSEC))
    yield receiver
    receiver.close()


def forward(home, audience, url, secret, **options):
    output = home.outputs.create("Hook", "webhook", {"url": url, "identity_types": ["ios_idfa"]},
                                 {"signing_secret": secret})
    connection = home.connections.connect(audience.id, output.id)
    engine = ForwardingEngine(home, now=lambda: NOW, sleep=lambda s: None, rng=random.Random(1), **options)
    return engine.forward_one(connection.id)


def test_every_batch_verifies_with_the_stock_library_and_its_id_is_the_batch_id(opened, receiver):  # noqa: F811
    _, _, audience = identity_example(opened)
    report = forward(opened, audience, receiver.server.url_for("/hook"), WHSEC, batch_size=40)
    assert (report.outcome, report.added, report.batches) == (SENT, 100, 3)
    assert len(receiver.identities) == 100 and len(receiver.seen) == 3
    for headers in receiver.headers:
        assert headers["webhook-id"] == headers["idempotency-key"]
        assert headers["webhook-signature"].startswith("v1,")
        assert headers["webhook-timestamp"] == headers["x-audience-studio-timestamp"]


def test_a_retried_batch_keeps_its_webhook_id_so_the_receiver_processes_it_once(opened, receiver):  # noqa: F811
    _, _, audience = identity_example(opened)
    receiver.lose_reply_once = True
    report = forward(opened, audience, receiver.server.url_for("/hook"), WHSEC, batch_size=40)
    assert (report.outcome, report.retries) == (SENT, 1)
    assert sorted(receiver.seen.values()) == [1, 1, 2]
    assert len(receiver.identities) == 100


def test_a_plain_secret_signs_with_its_bytes_which_the_library_takes_as_a_key(opened):  # noqa: F811
    receiver = Receiver(Webhook(b"plain shared secret"))
    try:
        _, _, audience = identity_example(opened)
        report = forward(opened, audience, receiver.server.url_for("/hook"), "plain shared secret")
        assert (report.outcome, report.added) == (SENT, 100)
    finally:
        receiver.close()


def test_a_receiver_with_another_secret_refuses_and_the_connection_faults(opened):  # noqa: F811
    receiver = Receiver(Webhook("whsec_" + base64.b64encode(b"another key entirely").decode()))
    try:
        _, _, audience = identity_example(opened)
        report = forward(opened, audience, receiver.server.url_for("/hook"), WHSEC)
        assert report.outcome == FAULTED and opened.faults.get(report.fault_id).category == "Authentication"
        assert receiver.identities == set()
    finally:
        receiver.close()


def test_a_malformed_whsec_secret_is_a_configuration_fault_naming_it(opened):  # noqa: F811
    _, _, audience = identity_example(opened)
    report = forward(opened, audience, "http://127.0.0.1:9/hook", "whsec_not*base64!")
    fault = opened.faults.get(report.fault_id)
    assert report.outcome == FAULTED and fault.category == "Configuration"
    assert "whsec_" in fault.message and "\n" not in fault.message


def test_signature_matches_the_specification_formula():
    key = signing_key(WHSEC)
    assert key == bytes(range(32))
    body = b'{"a":1}'
    expected = Webhook(WHSEC).sign("msg_1", dt.datetime.fromtimestamp(1700000000, dt.timezone.utc), body)
    assert standard_signature(key, "msg_1", "1700000000", body) == expected
