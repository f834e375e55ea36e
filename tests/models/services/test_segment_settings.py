"""Segment settings on a real store: the defaults, each field's validation and its message, no price on a private
segment, a priced segment made private, clone and undo of a delete, expiry, and migration 0006 up and down."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy.exc import IntegrityError

from app.errors import InvalidInput, NotFound
from app.models.store.db import alembic_config
from app.models.store.schema import SegmentSettings
from app.models.services.segments import (
    PRIVATE_PRICE_REASON,
    SegmentInfo,
    SegmentSettingsService,
    is_expired,
    parse_cpm,
)


@pytest.fixture
def segments(store) -> SegmentSettingsService:
    return SegmentSettingsService(store, "maria")


@pytest.fixture
def buyers(audiences, retail):
    return audiences.create("Buyers", workspace_ids=[retail.id])


def test_an_audience_without_settings_has_the_defaults(segments, buyers):
    settings = segments.get(buyers.id)
    assert settings == SegmentInfo(buyers.id, expiration_days=None, visibility="private", cpm=None, category=None)
    assert settings.updated_at is None and not settings.is_public


def test_an_update_is_stored_exactly_and_tells_subscribers(segments, buyers, recorded_events):
    saved = segments.update(buyers.id, expiration_days=90, visibility="public", cpm="2.50",
                            category="retail>  outdoor")
    assert (saved.expiration_days, saved.visibility, saved.cpm, saved.category) == (
        90, "public", Decimal("2.50"), "retail > outdoor")
    assert saved.updated_by == "maria" and saved.updated_at is not None
    assert segments.get(buyers.id) == saved
    assert ("audience_changed", buyers.id) in recorded_events
    # Only what is given changes.
    assert segments.update(buyers.id, expiration_days="never").cpm == Decimal("2.50")
    assert segments.get(buyers.id).expiration_days is None


def test_a_price_on_a_private_segment_is_refused_with_the_reason(segments, buyers):
    with pytest.raises(InvalidInput) as refused:
        segments.update(buyers.id, cpm="1.00")
    assert str(refused.value).startswith("CPM price:") and PRIVATE_PRICE_REASON in str(refused.value)
    with pytest.raises(InvalidInput, match="the segment is private, and only public segments can have a price"):
        segments.update(buyers.id, visibility="private", cpm=3)
    assert segments.get(buyers.id).cpm is None


def test_a_priced_segment_becomes_private_only_if_the_price_is_cleared_with_it(segments, buyers):
    segments.update(buyers.id, visibility="public", cpm=Decimal("4.25"))
    with pytest.raises(InvalidInput, match=r"priced at 4\.25 USD; clear the price to make it private"):
        segments.update(buyers.id, visibility="private")
    assert segments.get(buyers.id).is_public
    private = segments.update(buyers.id, visibility="private", cpm=None)
    assert (private.visibility, private.cpm) == ("private", None)


@pytest.mark.parametrize(("cpm", "message"), [
    ("-1", "CPM price: -1 is negative"),
    ("1000.01", "CPM price: 1000.01 USD is more than the highest allowed, 1,000.00 USD"),
    ("2.505", "CPM price: 2.505 has more than 2 decimals"),
    ("two", "CPM price: “two” is not a number"),
    ("NaN", "CPM price: “NaN” is not a number"),
    (0.1 + 0.2, "more than 2 decimals"),
    ("2,50", "CPM price: “2,50” has a comma; type the decimals after a point, such as 2.50"),
    ("1,0000", "has a comma"),
    ("1,250", "more than the highest allowed"),
])
def test_bad_prices_are_refused_naming_the_field(segments, buyers, cpm, message):
    with pytest.raises(InvalidInput, match=message):
        segments.update(buyers.id, visibility="public", cpm=cpm)
    assert segments.get(buyers.id) == SegmentInfo(buyers.id)  # nothing half-written: still private


def test_prices_are_read_in_the_forms_users_type(segments, buyers):
    assert segments.update(buyers.id, visibility="public", cpm="$1,000").cpm == Decimal("1000.00")
    assert segments.update(buyers.id, cpm="0").cpm == Decimal("0.00")  # free on the marketplace
    assert segments.update(buyers.id, cpm=" 3.1 USD").cpm == Decimal("3.10")
    assert segments.update(buyers.id, cpm="").cpm is None
    assert str(parse_cpm("-0")) == "0.00"  # as the Segment tab shows it back, not "-0.00"
    assert segments.update(buyers.id, cpm="1,000.00").cpm == Decimal("1000.00")


@pytest.mark.parametrize(("days", "message"), [
    (0, "Expiration: 0 days is out of range; choose 1 to 3650 days"),
    (3651, "Expiration: 3651 days is out of range"),
    ("soon", "Expiration: “soon” is not a whole number of days"),
])
def test_bad_expirations_are_refused(segments, buyers, days, message):
    with pytest.raises(InvalidInput, match=message):
        segments.update(buyers.id, expiration_days=days)


def test_expiration_bounds_are_accepted(segments, buyers):
    assert segments.update(buyers.id, expiration_days=1).expiration_days == 1
    assert segments.update(buyers.id, expiration_days="3650").expiration_days == 3650
    assert segments.update(buyers.id, expiration_days=None).expiration_days is None


@pytest.mark.parametrize(("category", "message"), [
    ("Retail >  > Outdoor", "has an empty level"),
    ("Retail > Out<door", "contains “<”"),
    ("Retail\tShoes;", "contains “;”"),
    ("A > B > C > D > E > F > G", "has 7 levels; at most 6"),
    ("x" * 121, "is 121 characters; at most 120"),
])
def test_bad_categories_are_refused(segments, buyers, category, message):
    with pytest.raises(InvalidInput, match=f"Category: .*{message}"):
        segments.update(buyers.id, category=category)


def test_categories_are_tidied_and_offered_once_each(segments, audiences, retail, buyers):
    other = audiences.create("Campers", workspace_ids=[retail.id])
    assert segments.update(buyers.id, category="  Food & Drink>Coffee ").category == "Food & Drink > Coffee"
    segments.update(other.id, category="Age 25-34")
    third = audiences.create("Hikers", workspace_ids=[retail.id])
    segments.update(third.id, category="Age 25-34")
    assert segments.categories() == ["Age 25-34", "Food & Drink > Coffee"]
    assert segments.update(third.id, category="  ").category is None


def test_unknown_audiences_are_named(segments):
    with pytest.raises(NotFound, match="no audience with id 99"):
        segments.get(99)
    with pytest.raises(NotFound):
        segments.update(99, expiration_days=7)


def test_the_store_refuses_a_price_on_a_private_segment_even_without_the_service(store, buyers):
    with pytest.raises(IntegrityError, match="private_has_no_price"), store.transaction() as session:
        session.add(SegmentSettings(audience_id=buyers.id, visibility="private", cpm_cents=100, updated_by="x"))


def test_a_clone_is_offered_like_the_original(segments, audiences, buyers):
    segments.update(buyers.id, expiration_days=30, visibility="public", cpm="1.75", category="Retail > Outdoor")
    copy = audiences.clone(buyers.id)
    cloned = segments.get(copy.id)
    assert (cloned.expiration_days, cloned.visibility, cloned.cpm, cloned.category) == (
        30, "public", Decimal("1.75"), "Retail > Outdoor")
    # Two rows, not one shared: changing the copy leaves the original.
    segments.update(copy.id, visibility="private", cpm=None)
    assert segments.get(buyers.id).is_public


def test_undoing_a_delete_brings_the_settings_back(segments, audiences, buyers):
    saved = segments.update(buyers.id, expiration_days=14, visibility="public", cpm="0.80")
    snapshot = audiences.delete(buyers.id)
    audiences.restore(snapshot)
    assert segments.get(buyers.id) == saved


def test_expiry_counts_days_from_the_push():
    pushed = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    month = SegmentInfo(1, expiration_days=30)
    assert not is_expired(month, pushed, pushed + timedelta(days=30) - timedelta(seconds=1))
    assert is_expired(month, pushed, pushed + timedelta(days=30))
    assert not is_expired(SegmentInfo(1), pushed, pushed + timedelta(days=10_000))  # never expires
    assert not is_expired(month, None, pushed + timedelta(days=365))  # never pushed


def test_0006_upgrades_a_0005_store_keeping_its_audiences_and_downgrades_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    config = alembic_config(f"sqlite:///{path}")
    command.upgrade(config, "0005")
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO audiences (id, name, scope, kind, status, criteria, created_by, created_at, updated_at) "
                   "VALUES (7, 'Buyers', 'single', 'realtime', 'active', '{}', 'maria', '2026-01-01 00:00:00', "
                   "'2026-01-01 00:00:00')")
    command.upgrade(config, "0006")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT id, name FROM audiences").fetchall() == [(7, "Buyers")]
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("INSERT INTO segment_settings (audience_id, visibility, cpm_cents, updated_by, updated_at) "
                   "VALUES (7, 'public', 250, 'maria', '2026-01-02 00:00:00')")
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("INSERT INTO segment_settings (audience_id, visibility, cpm_cents, updated_by, updated_at) "
                       "VALUES (8, 'private', NULL, 'maria', '2026-01-02 00:00:00')")  # no audience 8
    command.downgrade(config, "0005")
    with sqlite3.connect(path) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "segment_settings" not in tables
        assert db.execute("SELECT id, name FROM audiences").fetchall() == [(7, "Buyers")]
