"""Undo of deleting an audience: its connections (with where forwarding stood), A/B test and standard details come back."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.connectors.outputs.errors import Failure
from app.errors import InvalidInput
from app.models.services.connections import ConnectionService
from app.models.services.faults import FaultService
from app.models.store.schema import (
    ABTest,
    ABVariant,
    Connection,
    ForwardedIdentity,
    ForwardingState,
    OutputConfiguration,
    PendingBatch,
    StandardAudience,
)

TABLES = (ABTest, ABVariant, Connection, ForwardingState, ForwardedIdentity, PendingBatch, StandardAudience)


def add_output(store, name: str) -> int:
    with store.transaction() as session:
        row = OutputConfiguration(name=name, partner="file_export", settings={"folder": "/srv/exports"},
                                  keyring_id=f"keyring-{name}", created_by="admin")
        session.add(row)
        session.flush()
        return row.id


def everything(store) -> dict:
    """Every row of the tables an audience's delete cascades into, as comparable tuples."""
    with store.transaction() as session:
        return {model.__tablename__: sorted(tuple(str(getattr(row, attr.key)) for attr in model.__mapper__.column_attrs)
                                            for row in session.scalars(select(model)))
                for model in TABLES}


@pytest.fixture
def connected(store, audiences, retail):
    """"Buyers" with an A/B test of two variations, connected whole and by variation, part-way through forwarding
    with a fault; and a standard audience next to it, so a restore must not disturb what is not its own."""
    buyers = audiences.create("Buyers", workspace_ids=[retail.id], status="active")
    history = audiences.create("Spring buyers", workspace_ids=[retail.id], kind="standard",
                               date_range=(date(2026, 3, 1), date(2026, 5, 31)))
    connections = ConnectionService(store, "admin")
    export, hook = add_output(store, "Export"), add_output(store, "Archive")
    whole = connections.connect(buyers.id, export, status="inactive")
    with store.transaction() as session:
        test = ABTest(audience_id=buyers.id, seed="s33d", created_by="maria")
        test.variants = [ABVariant(position=0, name="Control", percent=60), ABVariant(position=1, name="B", percent=40)]
        session.add(test)
        session.flush()
        variant = Connection(audience_id=buyers.id, variant_id=test.variants[1].id, configuration_id=hook,
                             settings={}, status="sending", shared_attributes=["tier"], created_by="admin")
        session.add(variant)
        session.flush()
        session.add(ForwardingState(connection_id=variant.id, partner_ref="aud-7", next_sequence=3, batches_sent=1,
                                    last_batch_id="b-1"))
        session.add_all([ForwardedIdentity(connection_id=variant.id, identity_type="email", value=f"m{n}@example.com",
                                           attributes_hash=f"h{n}") for n in range(3)])
        session.add(PendingBatch(connection_id=variant.id, batch_id="b-2", sequence=2, action="add",
                                 identities=[["email", "m9@example.com", {"tier": "gold"}]]))
        variant_id = variant.id
    fault = FaultService(store, "admin").record(variant_id, Failure("Permissions", "403 from the partner", 403, 2, "b-2"))
    standard_connection = connections.connect(history.id, export)
    return buyers, history, whole, variant_id, fault, standard_connection


def test_undoing_a_delete_restores_connections_forwarding_state_faults_and_the_ab_test(store, audiences, connected):
    buyers, _, whole, variant_id, fault, _ = connected
    before = everything(store)
    connections, faults = ConnectionService(store, "admin"), FaultService(store, "admin")
    info_before = {c.id: c for c in connections.list(audience_id=buyers.id)}

    snapshot = audiences.delete(buyers.id)
    assert connections.list(audience_id=buyers.id) == [] and faults.list() == []
    assert len(snapshot.rows("connections")) == 2 and len(snapshot.rows("forwarded_identities")) == 3

    audiences.restore(snapshot)
    assert everything(store) == before
    restored = {c.id: c for c in connections.list(audience_id=buyers.id)}
    assert restored == info_before
    assert restored[whole.id].status == "inactive"
    assert (restored[variant_id].identities_held, restored[variant_id].pending_batches) == (3, 1)
    assert restored[variant_id].fault.id == fault.id and restored[variant_id].shared_attributes == ("tier",)
    assert connections.counts_by_audience()[buyers.id] == 2


def test_a_standard_audience_comes_back_with_its_date_range_and_connection(store, audiences, connected):
    _, history, _, _, _, standard_connection = connected
    snapshot = audiences.delete(history.id)
    with store.transaction() as session:
        assert session.get(StandardAudience, history.id) is None
    audiences.restore(snapshot)
    with store.transaction() as session:
        row = session.get(StandardAudience, history.id)
        assert (row.range_start, row.range_end) == (date(2026, 3, 1), date(2026, 5, 31))
    assert ConnectionService(store, "admin").get(standard_connection.id).audience_id == history.id


def test_a_refused_restore_changes_nothing(store, audiences, connected):
    buyers, _, _, _, _, _ = connected
    snapshot = audiences.delete(buyers.id)
    after_delete = everything(store)
    audiences.create("Buyers", workspace_ids=list(buyers.workspace_ids))  # the name is taken meanwhile
    with pytest.raises(InvalidInput):
        audiences.restore(snapshot)
    assert everything(store) == after_delete


def test_connections_to_an_output_deleted_meanwhile_are_left_out_with_their_forwarding(store, audiences, connected):
    buyers, _, whole, variant_id, _, _ = connected
    snapshot = audiences.delete(buyers.id)
    archive = next(r["configuration_id"] for r in snapshot.rows("connections") if r["id"] == variant_id)
    with store.transaction() as session:
        session.delete(session.get(OutputConfiguration, archive))
    audiences.restore(snapshot)
    assert [c.id for c in ConnectionService(store, "admin").list(audience_id=buyers.id)] == [whole.id]
    with store.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ForwardedIdentity)) == 0
        assert session.scalar(select(func.count()).select_from(ABVariant)) == 2
    assert FaultService(store, "admin").list(connection_id=variant_id) == []
