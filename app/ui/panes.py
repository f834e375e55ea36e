"""The panes of the window's navigation, in the order shown: the one list the main window builds from.

Adding a pane is one entry here and a class that honours the pane contract (app/ui/kit/pane.py), and its
navigation icon in PANE_ICONS (a pane not listed there shows the icon of its own `icon`).
"""

from __future__ import annotations

from app.ui.activity.pane import ActivityPane
from app.ui.audiences_page import AudiencesPage
from app.ui.connections.pane import ConnectionsPane
from app.ui.faults.pane import FaultsPane
from app.ui.kit.pane import Pane
from app.ui.revenue.pane import RevenuePane
from app.ui.sources.pane import SourcesPane
from app.ui.standard.pane import StandardAudiencesPane
from app.ui.sync.pane import SyncPane

PANES: tuple[type[Pane], ...] = (
    AudiencesPage,
    StandardAudiencesPane,
    ConnectionsPane,
    FaultsPane,
    RevenuePane,
    SourcesPane,
    ActivityPane,
    SyncPane,
)

#: The navigation's icons by pane key: Material Design Icons names, drawn in the palette's colours (app/ui/kit/icons.py).
PANE_ICONS: dict[str, str] = {
    "audiences": "account-group",
    "standard": "star-circle-outline",
    "connections": "lan-connect",
    "faults": "alert-circle-outline",
    "revenue": "cash-multiple",
    "sync": "sync",
    "sources": "database-import-outline",
    "activity": "pulse",
}
