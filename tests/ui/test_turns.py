"""`on_next_turn`: each piece of deferred GUI work is a turn of its own, with the event loop's timers between."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from app.ui.turns import on_next_turn


def test_a_chain_of_deferred_work_lets_timers_run_between_its_pieces(qtbot):
    owner = QObject()
    happened: list[str] = []
    timer = QTimer(interval=0)
    timer.timeout.connect(lambda: happened.append("timer"))

    def piece(n: int) -> None:
        happened.append(f"piece {n}")
        if n < 3:
            on_next_turn(owner, lambda: piece(n + 1))

    timer.start()
    on_next_turn(owner, lambda: piece(1))
    qtbot.waitUntil(lambda: "piece 3" in happened, timeout=2_000)
    timer.stop()
    pieces = [i for i, what in enumerate(happened) if what.startswith("piece")]
    # Never two pieces back to back: the loop's other timers ran in between (what clicks and keys need too).
    assert all("timer" in happened[a + 1:b] for a, b in zip(pieces, pieces[1:]))


def test_deferred_work_is_dropped_with_its_owner(qtbot):
    owner = QObject()
    happened: list[str] = []
    on_next_turn(owner, lambda: happened.append("ran"))
    owner.deleteLater()
    qtbot.wait(50)
    assert happened == []
