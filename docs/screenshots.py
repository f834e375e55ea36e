"""Take the README's screenshots from the real app, with its style sheet and icons, in a 1280x800 window (a laptop):
the audiences page, the builder with its live estimate and (for docs/marketplace.md) its Segment tab, (for docs/membership.md) the live audiences list and an
audience's size over time, and (for README's Help section) the user guide and the keyboard-shortcut sheet.

    .venv/bin/audience-studio --home /tmp/shots demo --profiles 20000
    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots.py --home /tmp/shots [--dark] [--out docs/images]

Works on a copy of the home's store (the audiences it adds never reach the home itself); the
cache is opened as it is. `--dark` renders with a dark palette, to check the app follows it.
"""

from __future__ import annotations

import argparse
import copy
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtGui import QColor, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.engines.home import OpenHome  # noqa: E402
from app.paths import Home  # noqa: E402

BUILDER_AUDIENCE = "Engaged campers in the US"
#: An Active demo audience whose history the size-over-time shot shows (calculate the home's audiences first,
#: e.g. `audience-studio audiences refresh-membership --now ...` for a few past days).
HISTORY_AUDIENCE = "Cart abandoners, last 7 days"
LAPTOP = (1280, 800)
SIZE = LAPTOP


def camping_criteria() -> dict:
    """Two groups and a place: engaged (sessions or a purchase) campers (a list attribute or a search) in the US."""
    window = {"type": "within", "amount": 30, "unit": "days"}
    return {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "exclude": False, "children": [
        {"id": "engaged", "type": "group", "match": "any", "exclude": False, "children": [
            {"id": "sessions", "type": "event", "exclude": False, "event_type": "session_start",
             "frequency": {"operator": "ge", "value": 3}, "window": {"type": "within", "amount": 21, "unit": "days"}},
            {"id": "buyers", "type": "event", "exclude": False, "event_type": "commerce_event",
             "product_action": "purchase", "window": window},
        ]},
        {"id": "campers", "type": "group", "match": "any", "exclude": False, "children": [
            {"id": "likes", "type": "user_attribute", "exclude": False, "attribute": "favorite_categories",
             "operator": "list_contains", "value": "camping"},
            {"id": "search", "type": "event", "exclude": False, "event_type": "custom_event", "event_name": "Search",
             "conditions": [{"attribute": "query", "operator": "contains", "value": "tent"}], "window": window},
        ]},
        {"id": "us", "type": "location", "exclude": False, "field": "country", "operator": "equals", "value": "US"},
    ]}}


def dark_palette() -> QPalette:
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#2b2b2b", QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#1f1f1f", QPalette.ColorRole.AlternateBase: "#262626",
        QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#353535",
        QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.Highlight: "#3d7bd9",
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#353535",
        QPalette.ColorRole.ToolTipText: "#e6e6e6", QPalette.ColorRole.PlaceholderText: "#9a9a9a",
        QPalette.ColorRole.Link: "#6ea8fe", QPalette.ColorRole.Mid: "#404040", QPalette.ColorRole.Dark: "#202020",
        QPalette.ColorRole.Light: "#505050", QPalette.ColorRole.Midlight: "#454545",
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    # As an OS dark theme does: disabled text is dimmer, so disabled buttons read as disabled.
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#777777"))
    return palette


def wait(app: QApplication, condition, timeout_s: float = 60.0) -> None:
    loop = QEventLoop()
    timer = QTimer(interval=20)
    timer.timeout.connect(lambda: condition() and loop.quit())
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    timer.start()
    loop.exec()
    timer.stop()
    if not condition():
        raise SystemExit("timed out waiting for the app")
    app.processEvents()


def copy_home(source: Path) -> Home:
    """A home whose store is a copy and whose cache is the source's (opened read and write, but never written)."""
    target = Path(tempfile.mkdtemp(prefix="audience-studio-shots-"))
    shutil.copy2(source / "store.sqlite3", target / "store.sqlite3")
    for item in source.iterdir():
        if item.name.startswith("cache"):
            (target / item.name).symlink_to(item)
    return Home(target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "images")
    parser.add_argument("--dark", action="store_true")
    args = parser.parse_args()

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("Audience Studio Screenshots")
    app.setApplicationName("Audience Studio")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    settings_dir = tempfile.mkdtemp(prefix="audience-studio-settings-")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
    app.setStyle("Fusion")
    if args.dark:
        app.setPalette(dark_palette())
    from app.ui import resources

    resources.apply(app)  # the app's icon and style sheet, as `audience-studio` starts with them

    from app.ui.home import HomeConnection
    from app.ui.main_window import MainWindow
    from app.ui.workers import Tasks

    home = copy_home(args.home)
    with OpenHome.open(home, user="maria") as opened:
        us = opened.workspaces.get("Harbor & Pine US")
        if not any(a.name == BUILDER_AUDIENCE for a in opened.audiences.list()):
            opened.audiences.create(BUILDER_AUDIENCE, workspace_ids=[us.id], criteria=copy.deepcopy(camping_criteria()),
                                    tags=["camping", "summer"])

    tasks = Tasks()
    connection = HomeConnection(home, tasks)
    window = MainWindow(connection, tasks)
    window.resize(*SIZE)
    window.show()
    connection.start()
    page = window.pane("audiences")
    pane = page.list
    wait(app, lambda: pane.model.rowCount() > 0 and not pane.calculation.is_running() and not tasks.is_busy())
    suffix = "-dark" if args.dark else ""
    args.out.mkdir(parents=True, exist_ok=True)
    pane.table.selectRow(2)
    app.processEvents()
    window.grab().save(str(args.out / f"audiences{suffix}.png"))
    window.resize(*LAPTOP)
    app.processEvents()
    window.grab().save(str(args.out / f"live-audiences{suffix}.png"))

    history = next((a for a in pane.model.audiences() if a.name == HISTORY_AUDIENCE), None)
    if history is not None:
        editor = page.editors.open_audience(history.id)
        wait(app, lambda: editor.is_loaded() and editor.content.history_chart.history is not None
             and editor.estimate.shown is not None and editor.estimate.shown.exact and not editor.live.is_busy())
        chart = editor.content.history_chart
        if len(chart.rows) >= 8:
            chart.hover_at(chart._x[-8])
            app.processEvents()
            window.grab().save(str(args.out / f"size-over-time{suffix}.png"))
        else:
            print(f"size-over-time{suffix}.png not taken: “{HISTORY_AUDIENCE}” has {len(chart.rows)} days of history "
                  "(activate it and refresh its membership for past days first)")
        editor.ask = lambda _editor: "discard"
        page.editors.close_current()
    window.resize(*SIZE)

    audience_id = next(a.id for a in pane.model.audiences() if a.name == BUILDER_AUDIENCE)
    editor = page.editors.open_audience(audience_id)
    wait(app, editor.is_loaded)
    # A few edits, as a user would make them, so the chart of the session has a history to draw.
    from app.builder import editing

    for days in (14, 30, 21):
        editor.edits.edit_node("sessions", {"window": {"type": "within", "amount": days, "unit": "days"}}, "")
        editor.live.request(editor.document, editor.model.draft.input_ids, now=True)
        wait(app, lambda: editor.estimate.shown is not None and editor.estimate.shown.exact
             and not editor.live.is_busy())
    assert editing.find(editor.document, "us") is not None
    editor.canvas.focus_node("likes")
    app.processEvents()
    window.grab().save(str(args.out / f"builder{suffix}.png"))

    # docs/marketplace.md: the same audience's Segment tab (expiration, visibility, CPM price, category).
    editor.content.tabs.setCurrentWidget(editor.content.segment)
    wait(app, lambda: editor.content.segment.is_loaded() and not tasks.is_busy())
    window.grab().save(str(args.out / f"segment{suffix}.png"))
    editor.content.tabs.setCurrentIndex(0)
    app.processEvents()

    # Help: the guide at the builder's page, and the shortcut sheet with the builder's keys (an audience is open).
    window.show_guide("builder.md")
    app.processEvents()
    window.guide.resize(1080, 700)
    app.processEvents()
    window.guide.grab().save(str(args.out / f"user-guide{suffix}.png"))
    window.guide.close()
    window.show_shortcuts()
    app.processEvents()
    window.shortcut_sheet.grab().save(str(args.out / f"keyboard-shortcuts{suffix}.png"))
    window.shortcut_sheet.close()

    editor.ask = lambda _editor: "discard"
    window.close()
    connection.close()
    shutil.rmtree(home.root, ignore_errors=True)
    shutil.rmtree(settings_dir, ignore_errors=True)
    print(f"screenshots saved in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
