"""A desktop notification when a connection faults: the system tray's balloon where the desktop has a tray,
else the window's status line. Clicking the notification brings the window forward on the Faults pane."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QSystemTrayIcon, QWidget

from app.ui.automatic_forwarding import AutomaticForwarding

TITLE = "Forwarding stopped"
SHOWN_MS = 15_000


def fault_text(report) -> str:
    return (f"“{report.audience_name}” → “{report.output_name}”: {report.reason or 'the partner refused it'} "
            "Open the Faults pane to see why and resume.")


class FaultNotifier(QObject):
    #: the text of each notification (shown in the tray or, without one, on the status line)
    notified = Signal(str)
    #: the notification was clicked: show the Faults pane
    open_faults = Signal()

    def __init__(self, forwarding: AutomaticForwarding, window: QWidget, *, tray_available: bool | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.tray_available = QSystemTrayIcon.isSystemTrayAvailable() if tray_available is None else tray_available
        self.tray: QSystemTrayIcon | None = None
        forwarding.faulted.connect(self.notify)

    def notify(self, report) -> None:
        text = fault_text(report)
        if self.tray_available:
            if self.tray is None:
                # Made on the first fault: an app whose connections never fault adds nothing to the tray.
                self.tray = QSystemTrayIcon(self.window.windowIcon(), self)
                self.tray.setToolTip("Audience Studio")
                self.tray.messageClicked.connect(self.open_faults)
                self.tray.activated.connect(lambda _reason: self.open_faults.emit())
                self.tray.show()
            self.tray.showMessage(TITLE, text, QSystemTrayIcon.MessageIcon.Warning, SHOWN_MS)
        self.notified.emit(text)
