"""Channels in the app, on a real home whose channels are the simulator on 127.0.0.1 (through
AUDIENCE_STUDIO_CHANNEL_ENDPOINTS): the set-up wizard refuses Next until a step is valid (with the model's
message; http only to this computer) and finishing stores the configuration; Channel Settings switches a
channel on and says where segments go; the Segment tab's Channels section shows a pushed channel and one the
segment was taken off because it expired (and the simulator no longer has it), pushes from its button (it
arrives), explains why a private segment cannot be pushed, and shows a refused push (red, Push Again) and a
refused removal (red, Retry Removal) with the channel's message."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QWizard

from app.models.services.channels import (
    ENDPOINTS_VARIABLE,
    PUSHED,
    REMOVED,
    ChannelService,
    endpoints_from_environment,
    segment_ref,
)
from app.models.store.db import utc_now
from app.engines.channel_pushes import ChannelPushes
from app.engines.home import OpenHome
from app.ui.editor.segment import SegmentTab
from app.ui.channels.settings_dialog import ChannelSettingsDialog
from app.ui.channels.wizard import ChannelSetupWizard
from app.ui.home import HomeConnection
from app.ui.workers import Tasks
from tests.channels.simulator import ChannelSimulator

TIMEOUT_MS = 30_000


@pytest.fixture
def channel_api(monkeypatch):
    with ChannelSimulator() as simulator:
        monkeypatch.setenv(ENDPOINTS_VARIABLE, json.dumps(simulator.endpoints()))
        yield simulator


@pytest.fixture
def world(channel_api, retail_connection: tuple[HomeConnection, Tasks]) -> tuple[HomeConnection, Tasks]:
    # The home's channel service reads the variable when first used, after the fixture set it.
    assert "channels" not in vars(retail_connection[0].open_home)
    return retail_connection


def channels(connection: HomeConnection, now=utc_now) -> ChannelService:
    return ChannelService(connection.open_home.store, "maria", now=now, endpoints=endpoints_from_environment())


def lapsed(connection: HomeConnection, **settings) -> int:
    home = connection.open_home
    audience_id = home.audiences.get("Lapsed buyers").id
    if settings:
        home.segments.update(audience_id, **settings)
    return audience_id


def dsp_state(service: ChannelService):
    return next(s for s in service.channels() if s.channel.key == "dsp_taxonomy")


def test_next_is_refused_until_each_step_is_valid_and_finishing_stores_the_set_up(qtbot, world, tmp_path):
    connection, tasks = world
    service = channels(connection)
    wizard = ChannelSetupWizard(service, tasks, dsp_state(service))
    qtbot.addWidget(wizard)
    wizard.show()
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    account = wizard.step_pages[0].inputs["account_id"]

    assert not next_button.isEnabled() and wizard.step_pages[0].problem.text() == ""  # untouched: no complaint yet
    account.setText("204817")
    assert not next_button.isEnabled()
    assert wizard.step_pages[0].problem.text().startswith("Account ID: “204817” is not an account ID")
    wizard.next()
    assert wizard.currentId() == 0  # refused

    account.setText("dsp-204817")
    assert next_button.isEnabled() and wizard.step_pages[0].problem.text() == ""
    qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)
    assert wizard.currentId() == 1

    endpoint = wizard.step_pages[1].inputs["endpoint_url"]
    endpoint.setText("http://api.example-dsp.com/taxonomy")
    assert not next_button.isEnabled() and "must start with https://" in wizard.step_pages[1].problem.text()
    assert "only for a test server on this computer" in wizard.step_pages[1].problem.text()
    endpoint.setText("http://127.0.0.1:8080/taxonomy")  # a local test server may be plain http
    assert next_button.isEnabled()
    endpoint.setText("https://api.example-dsp.com/taxonomy")
    wizard.next()
    assert wizard.currentId() == 2

    page = wizard.step_pages[2]
    finish = wizard.button(QWizard.WizardButton.FinishButton)
    page.inputs["taxonomy_root"].setText("Harbor Retail Data")
    assert not finish.isEnabled() and page.problem.text().startswith("Price currency: required")
    page.inputs["currency"].setCurrentText("EUR")
    assert finish.isEnabled()
    wizard.grab().save(str(tmp_path / "channel_wizard_last.png"))
    with qtbot.waitSignal(wizard.configured, timeout=TIMEOUT_MS) as done:
        finish.click()
    stored = dsp_state(service)
    assert done.args[0] == stored and stored.enabled
    assert stored.settings == {"account_id": "DSP-204817", "endpoint_url": "https://api.example-dsp.com/taxonomy",
                               "taxonomy_root": "Harbor Retail Data", "currency": "EUR"}


def test_channel_settings_switches_a_channel_on(qtbot, world, tmp_path):
    connection, tasks = world
    service = channels(connection)
    dialog = ChannelSettingsDialog(service, tasks)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.loaded, timeout=TIMEOUT_MS):
        dialog.show()
    assert set(dialog.toggles) == {"harbor", "openaudience", "directory"}
    assert set(dialog.setup_buttons) == {"dsp_taxonomy", "ad_server"}
    with qtbot.waitSignal(dialog.changed, timeout=TIMEOUT_MS):
        dialog.toggles["openaudience"].setChecked(True)
    assert next(s for s in service.channels() if s.channel.key == "openaudience").enabled
    assert dialog.toggles["openaudience"].isChecked()
    QApplication.processEvents()
    harbor = next(label for label in dialog.findChildren(QLabel) if label.accessibleName() == "Harbor Data Marketplace set-up")
    assert "Segments are sent to http://127.0.0.1:" in harbor.text() and harbor.text().endswith("/harbor.")
    dialog.grab().save(str(tmp_path / "channel_settings.png"))
    wizard = dialog.open_wizard(dsp_state(service))
    assert wizard.currentPage() is wizard.step_pages[0]
    wizard.step_pages[0].inputs["account_id"].setText("204817")
    wizard.grab().save(str(tmp_path / "channel_wizard.png"))
    wizard.close()


@pytest.fixture
def open_tab(qtbot, world):
    connection, tasks = world
    tabs: list[SegmentTab] = []

    def open_(audience_id: int) -> SegmentTab:
        tab = SegmentTab(connection, tasks, audience_id)
        tab.resize(760, 900)
        qtbot.addWidget(tab)
        tabs.append(tab)
        tab.show()  # builds the form, then reads the settings and the channels in the background
        with qtbot.waitSignal(tab.channels.loaded, timeout=TIMEOUT_MS):
            pass
        # Taking an expired segment off tells the tab, which reads again: let that settle.
        qtbot.waitUntil(lambda: not tasks.activity(), timeout=TIMEOUT_MS)
        QApplication.processEvents()
        return tab

    yield open_
    for tab in tabs:
        tab.shutdown()


def test_the_segment_tab_shows_a_pushed_channel_and_one_taken_off_because_it_expired(qtbot, world, open_tab,
                                                                                       channel_api, tmp_path):
    connection, _ = world
    audience_id = lapsed(connection, visibility="public", category="Retail > Lapsed", expiration_days=30)
    now = utc_now()
    long_ago = channels(connection, now=lambda: now - timedelta(days=31))
    long_ago.enable("harbor")
    long_ago.enable("openaudience")
    long_ago.enable("directory")
    ChannelPushes(long_ago).push(audience_id, "harbor")
    ChannelPushes(channels(connection)).push(audience_id, "openaudience")

    tab = open_tab(audience_id)
    section = tab.channels
    harbor = section.status_labels["harbor"].text()
    assert harbor.startswith("Removed on ") and harbor.endswith("(expired after 30 days)")
    assert section.status_labels["openaudience"].text().startswith("Pushed on ")
    # The segment goes by the external name partners see (the audience "Lapsed buyers" is sent as lapsed_90d).
    assert "“lapsed_90d | Retail > Lapsed”" in section.status_labels["openaudience"].text()
    assert section.action_buttons["openaudience"].text() == "Remove"
    assert section.action_buttons["harbor"].text() == "Push" and section.action_buttons["harbor"].isEnabled()
    assert section.message.text() == "Taken off: Harbor Data Marketplace (expired after 30 days)."
    assert channel_api.segments["harbor"] == {}  # deleted there
    assert list(channel_api.segments["openaudience"]) == [segment_ref(audience_id)]
    tab.grab().save(str(tmp_path / "channels_section.png"))

    section.action_buttons["directory"].click()
    qtbot.waitUntil(lambda: section.status_labels["directory"].text().startswith("Pushed on "), timeout=TIMEOUT_MS)
    assert channels(connection).pushes(audience_id)["directory"].state == PUSHED
    assert channel_api.segments["directory"][segment_ref(audience_id)]["taxonomy"] == "lapsed_90d | Retail > Lapsed"


def test_a_private_segment_cannot_be_pushed_and_says_why(world, open_tab):
    connection, _ = world
    channels(connection).enable("harbor")
    tab = open_tab(lapsed(connection))
    section = tab.channels
    assert section.note.isVisible() and "Only public segments are pushed" in section.note.text()
    assert not section.action_buttons["harbor"].isEnabled()
    assert "Only public segments" in section.action_buttons["harbor"].toolTip()


def test_a_push_to_a_channel_not_set_up_shows_the_error(qtbot, world, open_tab):
    connection, _ = world
    tab = open_tab(lapsed(connection, visibility="public", category="Retail"))
    section = tab.channels
    assert section.status_labels["ad_server"].text() == "Not pushed (the channel is not set up yet)"
    section.action_buttons["ad_server"].click()
    qtbot.waitUntil(lambda: section.status_labels["ad_server"].text().startswith("Push failed on "),
                    timeout=TIMEOUT_MS)
    text = section.status_labels["ad_server"].text()
    assert "Ad Server Segments is not set up completely" in text


def test_saving_the_segment_as_private_takes_it_off_its_channels(qtbot, world, open_tab, channel_api):
    connection, _ = world
    audience_id = lapsed(connection, visibility="public", category="Retail")
    channels(connection).enable("harbor")
    ChannelPushes(channels(connection)).push(audience_id, "harbor")
    tab = open_tab(audience_id)
    section = tab.channels
    assert section.action_buttons["harbor"].text() == "Remove"
    tab.private.setChecked(True)
    tab.save_button.click()
    qtbot.waitUntil(lambda: section.status_labels["harbor"].text().endswith("(made private)"), timeout=TIMEOUT_MS)
    assert channels(connection).pushes(audience_id)["harbor"].removed_reason == "made private"
    assert not section.action_buttons["harbor"].isEnabled()
    assert channel_api.segments["harbor"] == {} and channel_api.requests_to("harbor", "DELETE")


def test_refusals_show_on_their_rows_with_push_again_and_retry_removal(qtbot, world, open_tab, channel_api, tmp_path):
    connection, _ = world
    audience_id = lapsed(connection, visibility="public", category="Retail > Lapsed", expiration_days=30)
    now = utc_now()
    long_ago = channels(connection, now=lambda: now - timedelta(days=31))
    for key in ("harbor", "openaudience", "directory"):
        long_ago.enable(key)
    ChannelPushes(long_ago).push(audience_id, "harbor")  # expired: the tab's tidy will try to take it off
    ChannelPushes(channels(connection)).push(audience_id, "directory")
    channel_api.fail_next(409, body={"error": "Lapsed buyers is already listed by another provider; rename it"})
    ChannelPushes(channels(connection)).push(audience_id, "openaudience")
    channel_api.refuse("harbor", 503)

    tab = open_tab(audience_id)
    section = tab.channels
    harbor, openaudience = section.status_labels["harbor"], section.status_labels["openaudience"]
    assert harbor.text().startswith("Removal (expired after 30 days) failed on ")
    assert ("Harbor Data Marketplace had a server error (HTTP 503: simulated 503); it is retried automatically. "
            "Still on the channel: pushed on ") in harbor.text()
    assert "c62828" in harbor.styleSheet() and harbor.toolTip() == harbor.text()
    assert section.action_buttons["harbor"].text() == "Retry Removal"
    assert openaudience.text().startswith("Push failed on ") and openaudience.text().endswith(
        "OpenAudience Exchange rejected the segment (HTTP 409): Lapsed buyers is already listed by another provider; "
        "rename it.")
    assert "c62828" in openaudience.styleSheet()
    assert section.action_buttons["openaudience"].text() == "Push Again"
    assert section.status_labels["directory"].text().startswith("Pushed on ")
    assert section.message.text() == ("Could not take it off Harbor Data Marketplace (see above); it is retried "
                                      "automatically.")
    assert segment_ref(audience_id) in channel_api.segments["harbor"]  # still there, as the row says
    tab.grab().save(str(tmp_path / "channels_section_refused.png"))

    section.action_buttons["openaudience"].click()
    qtbot.waitUntil(lambda: section.status_labels["openaudience"].text().startswith("Pushed on "), timeout=TIMEOUT_MS)
    channel_api.accept("harbor")
    qtbot.waitUntil(lambda: section.grid_holder.isEnabled(), timeout=TIMEOUT_MS)
    section.action_buttons["harbor"].click()
    qtbot.waitUntil(lambda: section.status_labels["harbor"].text().startswith("Removed on "), timeout=TIMEOUT_MS)
    assert section.status_labels["harbor"].text().endswith("(expired after 30 days)")
    assert channels(connection).pushes(audience_id)["harbor"].state == REMOVED
    assert channel_api.segments["harbor"] == {} and segment_ref(audience_id) in channel_api.segments["openaudience"]
    QApplication.processEvents()
    tab.grab().save(str(tmp_path / "channels_section_after_retry.png"))


def test_the_main_window_tidies_when_a_home_opens_and_says_what_could_not_be_taken_off(qtbot, channel_api,
                                                                                        retail_home, open_window):
    with OpenHome.open(retail_home, user="maria") as opened:
        audience_id = opened.audiences.get("Lapsed buyers").id
        opened.segments.update(audience_id, visibility="public", category="Retail", expiration_days=30)
        now = utc_now()
        long_ago = ChannelService(opened.store, "maria", now=lambda: now - timedelta(days=31),
                                  endpoints=endpoints_from_environment())
        long_ago.enable("harbor")
        long_ago.enable("openaudience")
        ChannelPushes(long_ago).push(audience_id, "harbor")
        ChannelPushes(long_ago).push(audience_id, "openaudience")
    channel_api.refuse("openaudience", 500)

    window = open_window(retail_home)
    qtbot.waitUntil(lambda: "could not be taken off" in window.statusBar().currentMessage(), timeout=TIMEOUT_MS)
    assert window.statusBar().currentMessage().startswith("1 segment push(es) taken off their channels")
    assert channel_api.segments["harbor"] == {} and segment_ref(audience_id) in channel_api.segments["openaudience"]
