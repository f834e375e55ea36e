"""The Download dialog on a real home: opened from the list and the File menu, what it offers, the ZIP it
writes in the background, and Cancel leaving no file."""

from __future__ import annotations

import json
import threading
import zipfile
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, QSettings

from app.engines.downloads import default_archive_name, read_choices
from app.engines.home import OpenHome
from app.models.store.schema import ABTest, ABVariant
from app.paths import Home
from app.ui.audiences import download_dialog
from app.ui.audiences.download_dialog import DownloadDialog
from app.ui.workers import Tasks
from tests.ui.editor_homes import GOLD, IOS, document, fill_home

TIMEOUT_MS = 30_000


@pytest.fixture
def shop(home_dir: Home) -> tuple[Home, dict[str, int]]:
    """40 shoppers with an email each; "Gold" has an A/B test, "iPhone users" has none."""
    ids = fill_home(home_dir, audiences={"Gold": document(GOLD), "iPhone users": document(IOS)})
    with OpenHome.open(home_dir) as opened, opened.store.transaction() as session:
        session.add(ABTest(audience_id=ids["Gold"], seed="ui-seed", created_by="maria", variants=[
            ABVariant(position=0, name="Control", percent=70), ABVariant(position=1, name="Coupon", percent=30)]))
    return home_dir, ids


@pytest.fixture
def tasks() -> Tasks:
    """The dialog's background work; waited for, so no worker outlives the test's home."""
    made = Tasks()
    yield made
    made.wait()


def select_rows(window, names: list[str]) -> None:
    table = window.pane("audiences").list.table
    table.clearSelection()
    model = table.model()
    for row in range(model.rowCount()):
        if model.index(row, 0).data() in names:
            table.selectionModel().select(model.index(row, 0), table.selectionModel().SelectionFlag.Select
                                          | table.selectionModel().SelectionFlag.Rows)


def open_from_list(qtbot, window, names: list[str]) -> DownloadDialog:
    select_rows(window, names)
    actions = window.pane("audiences").list.actions
    actions.update_enabled()
    assert actions.download.isEnabled()
    actions.download.trigger()
    qtbot.waitUntil(lambda: getattr(actions, "download_dialog", None) is not None, timeout=TIMEOUT_MS)
    return actions.download_dialog


def test_downloading_two_audiences_from_the_list_writes_a_zip_per_variation(qtbot, open_window, shop, tmp_path):
    home, ids = shop
    window = open_window(home)
    dialog = open_from_list(qtbot, window, ["Gold", "iPhone users"])

    assert dialog.windowTitle() == "Download Audiences"
    assert list(dialog.type_checks) == ["email"] and dialog.type_checks["email"].isChecked()
    assert dialog.type_checks["email"].text() == "Email (40)"
    # Only the tested audience asks about variations: each one chosen, the whole audience not.
    assert list(dialog.variation_checks) == [ids["Gold"]]
    assert [c.isChecked() for c in dialog.variation_checks[ids["Gold"]].values()] == [True, True]
    assert not dialog.whole_checks[ids["Gold"]].isChecked()
    assert Path(dialog.output.text()).name.startswith("2 audiences - ")

    out = tmp_path / "shop.zip"
    dialog.output.setText(str(out))
    with qtbot.waitSignal(dialog.downloaded, timeout=TIMEOUT_MS) as done:
        dialog.download_button.click()

    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert sorted(archive.namelist()) == ["Gold - Control.csv", "Gold - Coupon.csv", "iPhone users.csv",
                                              "manifest.json"]
    assert manifest["audience_ids"] == [ids["Gold"], ids["iPhone users"]]
    assert done.args[0].manifest == manifest
    assert dialog.show_button.isVisible() and not dialog.download_button.isVisible()
    assert dialog.cancel_button.text() == "Done"
    assert f"rows in 3 CSV files to {out}" in dialog.status.text()


def test_the_dialog_says_why_it_cannot_download_yet(qtbot, shop, tmp_path, tasks):
    home, ids = shop
    with OpenHome.open(home) as opened:
        dialog = DownloadDialog(opened, tasks, read_choices(opened, [ids["Gold"]]))
        qtbot.addWidget(dialog)
        assert dialog.download_button.isEnabled() and not dialog.problem.isVisibleTo(dialog)

        dialog.type_checks["email"].setChecked(False)
        assert not dialog.download_button.isEnabled()
        assert dialog.problem.text() == "Choose at least one identity type."
        dialog.type_checks["email"].setChecked(True)

        for check in dialog.variation_checks[ids["Gold"]].values():
            check.setChecked(False)
        assert dialog.problem.text() == "Choose a variation of “Gold”, or the whole audience."
        dialog.whole_checks[ids["Gold"]].setChecked(True)
        assert dialog.download_button.isEnabled()

        dialog.output.setText(str(tmp_path / "gold.csv"))
        assert dialog.problem.text() == "The file name must end in .zip."


def test_cancel_stops_the_download_and_leaves_no_file(qtbot, shop, tmp_path, monkeypatch, tasks):
    home, ids = shop
    first_chunk = threading.Event()
    real_download = download_dialog.download

    def slowed(*args, progress, cancelled, **options):
        def report(done: int, total: int) -> None:
            progress(done, total)
            if done:
                first_chunk.set()
                cancelled.wait(TIMEOUT_MS / 1000)  # hold the worker until the test presses Cancel

        return real_download(*args, progress=report, cancelled=cancelled, chunk_rows=2, **options)

    monkeypatch.setattr(download_dialog, "download", slowed)
    with OpenHome.open(home) as opened:
        dialog = DownloadDialog(opened, tasks, read_choices(opened, [ids["iPhone users"]]))
        qtbot.addWidget(dialog)
        out = tmp_path / "iphone.zip"
        dialog.output.setText(str(out))
        dialog.show()
        dialog.download_button.click()
        qtbot.waitUntil(first_chunk.is_set, timeout=TIMEOUT_MS)
        assert dialog.is_running() and dialog.progress.isVisible() and not dialog.form.isEnabled()

        with qtbot.waitSignal(dialog.rejected, timeout=TIMEOUT_MS):
            dialog.cancel_button.click()
        tasks.wait()
        assert not dialog.is_running()
        assert dialog.status.text() == "The download was cancelled; no file was written."
        assert [p.name for p in tmp_path.iterdir() if p.is_file()] == []


def test_an_existing_file_is_replaced_only_when_the_user_agrees(qtbot, shop, tmp_path, tasks):
    home, ids = shop
    out = tmp_path / "gold.zip"
    out.write_bytes(b"keep me")
    with OpenHome.open(home) as opened:
        dialog = DownloadDialog(opened, tasks, read_choices(opened, [ids["iPhone users"]]))
        qtbot.addWidget(dialog)
        asked = []
        dialog.confirm_replace = lambda path: asked.append(path) or False
        dialog.output.setText(str(out))
        dialog.download_button.click()
        assert asked == [out] and not dialog.is_running() and out.read_bytes() == b"keep me"

        dialog.confirm_replace = lambda path: True
        with qtbot.waitSignal(dialog.downloaded, timeout=TIMEOUT_MS):
            dialog.download_button.click()
        assert zipfile.is_zipfile(out)


def test_file_download_audience_acts_on_the_open_audience(qtbot, open_window, shop):
    home, ids = shop
    window = open_window(home)
    assert window.pane("audiences").download_action.shortcut().toString() == "Ctrl+Shift+D"
    window.pane("audiences").editors.open_audience(ids["iPhone users"])
    select_rows(window, ["Gold"])  # the open tab wins over the list's selection
    window.pane("audiences").download_action.trigger()
    actions = window.pane("audiences").list.actions
    qtbot.waitUntil(lambda: getattr(actions, "download_dialog", None) is not None, timeout=TIMEOUT_MS)
    dialog = actions.download_dialog
    assert [a.name for a in dialog.choices.audiences] == ["iPhone users"]
    assert dialog.windowTitle() == "Download Audience" and not dialog.variation_checks
    editor = window.pane("audiences").editors.current_editor()
    editor.ask = lambda _editor: "discard"
    dialog.close()


def test_the_list_menus_offer_download_for_the_selection_only(qtbot, open_window, shop):
    home, _ = shop
    window = open_window(home)
    actions = window.pane("audiences").list.actions
    assert actions.download in window.pane("audiences").audience_menu.actions()  # and so in the row's and the context menu
    window.pane("audiences").list.table.clearSelection()
    window.pane("audiences").list.table.setCurrentIndex(QModelIndex())
    actions.update_enabled()
    assert not actions.download.isEnabled()
    # The File menu's Ctrl+Shift+D covers the list too; a second shortcut would be ambiguous.
    assert actions.download.shortcut().isEmpty()
    select_rows(window, ["Gold"])
    actions.update_enabled()
    assert actions.download.isEnabled()


def test_the_default_file_is_in_the_last_folder_used_and_never_replaces_one(qtbot, shop, tmp_path, tasks):
    home, ids = shop
    QSettings().setValue(download_dialog.FOLDER_KEY, str(tmp_path))
    with OpenHome.open(home) as opened:
        choices = read_choices(opened, [ids["Gold"]])
        taken = tmp_path / default_archive_name(choices.audiences)
        assert taken.name.startswith("Gold - ")
        taken.write_bytes(b"an earlier download")
        dialog = DownloadDialog(opened, tasks, choices)
        qtbot.addWidget(dialog)
        assert Path(dialog.output.text()) == tmp_path / f"{taken.stem} (2).zip"
