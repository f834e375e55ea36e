"""Segments past their expiration (or made private) come off their channels: when the home opens, then
every hour while the app runs. What was taken off, or could not be, is said in the status bar."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from app.ui.home import HomeConnection
from app.ui.workers import Tasks

#: How often the channels are tidied while the app runs.
TIDY_EVERY_MS = 3_600_000


class ChannelTidying(QObject):
    """Runs `home.channel_pushes.tidy()` in a worker at start and every hour."""

    #: a sentence for the status bar, and for how many milliseconds
    said = Signal(str, int)

    def __init__(self, connection: HomeConnection, tasks: Tasks, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.connection, self.tasks = connection, tasks
        connection.opened.connect(lambda _home: self.tidy())
        self._timer = QTimer(self, interval=TIDY_EVERY_MS)
        self._timer.timeout.connect(self.tidy)
        self._timer.start()

    def tidy(self) -> None:
        home = self.connection.open_home
        if home is not None:
            # `home.channel_pushes` (and the service under it) is made on the pool thread too: it reads (and may refuse) the endpoints variable.
            self.tasks.run(lambda: home.channel_pushes.tidy(), label="Taking expired segments off their channels",
                           on_success=self._on_tidied)

    def _on_tidied(self, tried: list) -> None:
        # Each push tried: state "removed", or still "pushed" when the channel refused (retried on the next tidy).
        removed = sum(p.state == "removed" for p in tried)
        failed = len(tried) - removed
        said = []
        if removed:
            said.append(f"{removed} segment push(es) taken off their channels (expired or made private)")
        if failed:
            said.append(f"{failed} could not be taken off (the channel refused or could not be reached; retried "
                        "every hour)")
        if said:
            self.said.emit("; ".join(said) + "; the audience's Segment tab shows which.", 15_000)
