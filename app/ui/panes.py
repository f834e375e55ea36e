"""The panes of the window's navigation, in the order shown: the one list the main window builds from.

Adding a pane is one entry here and a class that honours the pane contract (app/ui/kit/pane.py).
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
