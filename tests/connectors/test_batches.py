"""The batch → rows mapping: what each part of a batch becomes, and how malformed batches are named."""

from __future__ import annotations

import pytest

from app.connectors.batches import BatchError, Rows, input_of, map_batch
from tests.factories import T0, batch, event, purchase


def mapped(b: dict, **kwargs) -> Rows:
    rows = Rows()
    map_batch(b, rows, workspace_id=1, seq=0, **kwargs)
    return rows


def test_platform_of_the_app_is_the_input():
    assert input_of(batch(), None) == ("platform", "iOS")
    assert input_of(batch(application_info={"os": "Android"}), None) == ("platform", "Android")
    assert input_of(batch(application_info=None, device_info={"platform": "web"}), None) == ("platform", "Web")


def test_named_feed_is_the_input_even_with_a_platform():
    assert input_of(batch(), "CRM") == ("feed", "CRM")


def test_batch_without_platform_or_feed_is_refused_with_the_field():
    with pytest.raises(BatchError) as error:
        mapped(batch(application_info=None, device_info=None))
    assert error.value.path == "application_info.os"
    assert "--feed" in error.value.message


def test_first_run_transition_is_an_install_and_upgrade_flag_an_upgrade():
    rows = mapped(batch(events=[
        event("application_state_transition", T0, application_transition_type="application_initialized", is_first_run=True),
        event("application_state_transition", T0 + 1, application_transition_type="application_initialized", is_upgrade=True),
        event("application_state_transition", T0 + 2, application_transition_type="application_background"),
        event("first_run", T0 + 3),
    ]))
    assert rows.ev_type == ["install", "upgrade", "application_state_transition", "install"]


def test_event_names_come_from_the_event_kind():
    rows = mapped(batch(events=[
        event("custom_event", event_name="Video Watched"), event("screen_view", screen_name="Cart"),
        event("session_start"), purchase(),
    ]))
    assert rows.ev_name == ["Video Watched", "Cart", "Session Start", "purchase"]


def test_purchase_keeps_action_revenue_currency_and_products():
    rows = mapped(batch(events=[purchase(amount=80.0)]))
    assert rows.ev_action == ["purchase"]
    assert rows.ev_revenue == [80.0]
    assert rows.ev_currency == ["USD"]
    assert rows.pr_event == [0] and rows.pr_name == ["Tent"] and rows.pr_category == ["camping"]


def test_purchase_without_total_amount_sums_its_products():
    p = purchase()
    p["data"]["product_action"].pop("total_amount")
    p["data"]["product_action"]["products"] = [{"id": "a", "price": 10, "quantity": 2}, {"id": "b", "price": 5}]
    assert mapped(batch(events=[p])).ev_revenue == [25.0]


def test_custom_attributes_are_kept_as_text():
    rows = mapped(batch(events=[event(custom_attributes={"query": "tent", "results": 12, "exact": True, "score": 1.5, "none": None})]))
    pairs = dict(zip(rows.ev_attr_keys, rows.ev_attr_values))
    assert pairs == {"query": "tent", "results": "12", "exact": "true", "score": "1.5"}
    assert rows.ev_attr_offsets == [0, 4]


def test_user_and_device_identities_are_both_kept():
    rows = mapped(batch())
    kinds = {(t, k) for _, _, t, k, *_ in rows.identities}
    assert kinds == {("email", "user"), ("customer_id", "user"), ("ios_idfa", "device"), ("ios_idfv", "device")}


def test_attributes_keep_their_json_kind():
    rows = mapped(batch())
    kinds = {name: kind for _, _, name, _, _, kind, *_ in rows.attributes}
    assert kinds == {"$Age": "number", "loyalty_tier": "string", "favorite_categories": "list",
                     "newsletter_opt_in": "boolean", "signup_date": "string"}


def test_deleted_attribute_orders_after_the_batch_values():
    rows = mapped(batch(user_attributes={"tier": "gold"}, deleted_user_attributes=["tier"]))
    set_row, delete_row = rows.attributes
    assert not set_row[6] and delete_row[6]
    assert delete_row[-1] > set_row[-1]


def test_consent_location_device_and_attribution_are_mapped():
    rows = mapped(batch(attribution_info={"service_provider": "AppsFlyer", "publisher": "TikTok", "campaign": "spring"}))
    assert {(r[2], r[3], r[4]) for r in rows.consent} == {("gdpr", "marketing", True), ("ccpa", "data_sale_opt_out", False)}
    assert rows.locations[0][2:9] == ("New York", "NY", "10001", "501", "US", 40.71, -74.0)
    assert rows.devices[0][2:10] == ("iOS", "IOS", "17.4.1", "iPhone15,2", None, "Verizon", "5.2.0", "520")
    assert rows.attribution[0][2:6] == ("install", "AppsFlyer", "TikTok", "spring")


def test_attribution_in_a_batch_with_an_uninstall_is_the_uninstall_attribution():
    rows = mapped(batch(events=[event("uninstall")], attribution_info={"service_provider": "Adjust", "publisher": "Organic", "campaign": "x"}))
    assert rows.attribution[0][2] == "uninstall"


def test_missing_mpid_is_resolved_from_the_strongest_identity_stably():
    first = mapped(batch(mpid=None))
    again = mapped(batch(mpid=None, user_attributes={"other": "value"}))
    assert first.ev_mpid[0] == again.ev_mpid[0]
    assert first.ev_mpid[0] != mapped(batch(mpid=None, user_identities={"customer_id": "someone-else"})).ev_mpid[0]


def test_mpid_as_digit_string_is_accepted():
    assert mapped(batch(mpid="-42")).ev_mpid[0] == -42


def test_event_without_time_takes_the_batch_time():
    e = event()
    del e["data"]["timestamp_unixtime_ms"]
    assert mapped(batch(events=[e], at=T0 + 5)).ev_ts == [T0 + 5]


@pytest.mark.parametrize(("change", "path", "fragment"), [
    (lambda b: b.update(mpid="abc"), "mpid", "64-bit integer"),
    (lambda b: b.update(mpid=2**64), "mpid", "64 bits"),
    (lambda b: b["events"][1].update(event_type="teleport"), "events[1].event_type", "unknown event type 'teleport'"),
    (lambda b: b["events"][1].pop("event_type"), "events[1].event_type", "missing"),
    (lambda b: b["events"][1]["data"].update(timestamp_unixtime_ms="yesterday"), "events[1].data.timestamp_unixtime_ms", "milliseconds"),
    (lambda b: b["events"][1]["data"].update(timestamp_unixtime_ms=1_700_000_000), "events[1].data.timestamp_unixtime_ms", "seconds sent by mistake"),
    (lambda b: b["events"][1]["data"].pop("event_name"), "events[1].data.event_name", "missing"),
    (lambda b: b.update(events={"not": "a list"}), "events", "expected a list"),
    (lambda b: b["user_attributes"].update(bad={"nested": 1}), "user_attributes.bad", "expected a string, number, boolean or list"),
    (lambda b: b["user_identities"].update(fax="123"), "user_identities.fax", "unknown identity type"),
    (lambda b: b["context"]["location"].update(latitude=123.0), "context.location.latitude", "outside -90..90"),
    (lambda b: b["consent_state"]["gdpr"]["marketing"].pop("consented"), "consent_state.gdpr.marketing.consented", "missing"),
    (lambda b: b.update(application_info={"os": "Amiga"}), "application_info.os", "unknown platform 'Amiga'"),
])
def test_malformed_batch_names_the_field(change, path, fragment):
    b = batch()
    change(b)
    with pytest.raises(BatchError) as error:
        mapped(b)
    assert error.value.path == path
    assert fragment in error.value.message


def test_failed_batch_leaves_nothing_behind_in_the_rows():
    rows = Rows()
    map_batch(batch(mpid=1), rows, workspace_id=1, seq=0)
    before = rows.mark()
    bad = batch(mpid=2, events=[purchase(), event(), {"event_type": "custom_event", "data": {"timestamp_unixtime_ms": T0}}])
    with pytest.raises(BatchError):
        map_batch(bad, rows, workspace_id=1, seq=1)
    assert rows.mark() == before
    assert set(rows.ev_mpid) == {1}


def test_batch_that_is_not_an_object_is_refused():
    with pytest.raises(BatchError, match="must be a JSON object"):
        mapped([1, 2, 3])  # type: ignore[arg-type]
