"""The members table on its own: double-clicking a row hands over the row's whole 64-bit mpid (mParticle ids
do not fit a 32-bit int, and a Qt int signal would wrap them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QCoreApplication, Qt

from app.ui.insights.members_table import MembersTable
from app.ui.insights.requests import Requests
from app.ui.insights.table_model import PagedTableModel
from app.ui.kit.busy import BusyBar
from app.ui.workers import Tasks

BIG = -9156652530068994778


@pytest.fixture
def tasks() -> Iterator[Tasks]:
    made = Tasks()
    yield made
    made.wait()
    QCoreApplication.processEvents()  # the finished reads' answers and clean-ups, while everything still lives


def test_double_click_gives_the_whole_64_bit_mpid(qtbot, tasks):
    busy = BusyBar()
    model = PagedTableModel(Requests(tasks, busy, "Reading"), ["mpid"])
    table = MembersTable(model)
    qtbot.addWidget(table)
    table.show()
    with qtbot.waitSignal(model.loaded, timeout=10_000):
        model.ask(lambda offset, limit, queries: (1, [(str(BIG),)]))
    rect = table.visualRect(model.index(0, 0))
    with qtbot.waitSignal(table.activated_mpid, timeout=10_000) as said:
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert said.args == [BIG]
