"""The audience's "A/B Test" tab: set up variations (sized live), save them for good, connect each, delete the test.

With no test the tab is a draft: Control holds 100 % and each added variation takes its share from
it; a share that would push the total past 100 % is refused with a message. The draft's seed is
chosen when the draft begins, so the sizes shown while editing are the saved test's sizes. Once
saved, the tab shows each variation's size and connections, a Connect… for each (and for the whole
audience), and Delete Test…, which first names the connections that go with it.

Every read, count and write runs through `Tasks`, never on the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QPalette, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.connectors.outputs.settings import SettingsProblems
from app.engines import variant_sizes
from app.models.services.ab_tests import (
    CONTROL,
    MIN_CONTROL_PERCENT,
    ABTestInfo,
    DeletionImpact,
    DraftVariation,
    control_percent,
    default_name,
    draft_problems,
    new_seed,
)
from app.models.services.connections import ConnectionInfo
from app.models.services.outputs import OutputInfo
from app.models.store.schema import MAX_VARIATIONS
from app.ui.home import HomeConnection
from app.ui.workers import Tasks, failure_message

log = logging.getLogger(__name__)

#: How long after the last change to a draft its sizes are counted again.
SIZE_DELAY_MS = 250
#: A new variation's share, when that much is left.
DEFAULT_PERCENT = 10
WHOLE_AUDIENCE = "Whole audience"

#: Asks the user to go ahead: (parent, title, text, informative text, the button that goes ahead) → go ahead?
Confirm = Callable[[QWidget, str, str, str, str], bool]


def confirm_with_a_message_box(parent: QWidget, title: str, text: str, informative: str, accept: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Cancel, parent)
    box.setInformativeText(informative)
    go = box.addButton(accept, QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is go


def users_text(size: int | None) -> str:
    if size is None:
        return "…"
    return f"{size:,} user{'' if size == 1 else 's'}"


def _muted(label: QLabel) -> QLabel:
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return label


def _bold(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


class _VariationRow:
    """One added variation of the draft: name, share, size and Remove."""

    def __init__(self, percent: int) -> None:
        self.name = QLineEdit()
        self.name.setMaxLength(60)
        self.name.setMaximumWidth(360)
        self.percent = QSpinBox()
        self.percent.setRange(1, 100 - MIN_CONTROL_PERCENT)
        self.percent.setSuffix(" %")
        # Checked when the user commits the value (Enter, leaving the box, the arrows), not per keystroke:
        # typing 25 must not be judged at "2".
        self.percent.setKeyboardTracking(False)
        self.percent.setValue(percent)
        self.percent.setToolTip("This variation's share of the audience's users, taken from Control")
        #: The share last accepted; a refused one goes back to it.
        self.accepted = percent
        self.size = QLabel("…")
        self.size.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.remove = QToolButton(text="✕", autoRaise=True)

    def widgets(self) -> tuple[QWidget, ...]:
        return self.name, self.percent, self.size, self.remove

    def draft(self) -> DraftVariation:
        return DraftVariation(self.percent.value(), self.name.text())

    def number(self, row: int) -> None:
        """Name the row's placeholder and accessible names after its place (after a removal they move up)."""
        fallback = default_name(row + 1)
        self.name.setPlaceholderText(fallback)
        shown = self.name.text().strip() or fallback
        self.name.setAccessibleName(f"Name of variation {row + 1}")
        self.name.setToolTip(f"Optional; “{fallback}” when left empty. Partners receive the audience as "
                             f"“[External Name] - [Variation Name]”.")
        self.percent.setAccessibleName(f"Share of {shown}")
        self.remove.setAccessibleName(f"Remove {shown}")
        self.remove.setToolTip(f"Remove {shown}; its share goes back to Control")


class ABTestTab(QWidget):
    """See the module docstring. Reads the test when first shown (or on `load()`)."""

    #: fires once the tab shows the audience's draft or saved test
    loaded = Signal()
    #: fires when the users per variation are shown (Control first)
    sizes_shown = Signal(object)
    #: fires after the test was saved (the ABTestInfo)
    saved = Signal(object)
    #: fires after the test was deleted (the DeletionImpact)
    deleted = Signal(object)

    def __init__(self, connection: HomeConnection, tasks: Tasks, audience_id: int, *,
                 confirm: Confirm = confirm_with_a_message_box, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("A/B test")
        self.connection = connection
        self.tasks = tasks
        self.audience_id = audience_id
        self.confirm = confirm
        self.test: ABTestInfo | None = None
        self.connections: list[ConnectionInfo] = []
        self.sizes: list[int] | None = None
        self.seed = new_seed()
        self.rows: list[_VariationRow] = []
        self.dialog: ConnectVariationDialog | None = None
        #: the audience's name at partners; a variation's is "[this] - [Variation Name]"
        self.external_name = ""
        self._started = False
        self._busy = False
        self._generation = 0
        self._ready = False
        self._closed = False

        self.pages = QStackedWidget()
        self.loading = _muted(QLabel("Reading the A/B test…", alignment=Qt.AlignmentFlag.AlignCenter))
        self.loading.setWordWrap(True)
        self.pages.addWidget(self.loading)
        self._build_draft_page()
        self._build_saved_page()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)

        self._size_timer = QTimer(self, singleShot=True, interval=SIZE_DELAY_MS)
        self._size_timer.timeout.connect(self._count_sizes)
        self._reload_timer = QTimer(self, singleShot=True, interval=100)
        self._reload_timer.timeout.connect(self.load)
        connection.store_changed.connect(self._on_store_changed)

    # -- building ----------------------------------------------------------------------------------

    def _page(self, content: QWidget) -> tuple[QScrollArea, QVBoxLayout]:
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)
        self.pages.addWidget(scroll)
        layout = QVBoxLayout(content)
        layout.setContentsMargins(18, 14, 18, 14)
        layout.setSpacing(10)
        return scroll, layout

    def _build_draft_page(self) -> None:
        self.draft_page = QWidget()
        self.draft_scroll, layout = self._page(self.draft_page)
        layout.addWidget(_bold("Split the audience into variations"))
        intro = _muted(QLabel(
            "Connect each variation to a different output and compare them; Control holds whatever the variations "
            f"leave. Add up to {MAX_VARIATIONS} variations. Users are assigned by a hash of their mpid, so each user "
            "stays in one variation as the audience changes."))
        intro.setWordWrap(True)
        layout.addWidget(intro)

        self.grid_box = QWidget()
        self.grid = QGridLayout(self.grid_box)
        self.grid.setContentsMargins(0, 4, 0, 4)
        self.grid.setHorizontalSpacing(12)
        # Fixed columns, the slack on the right: rows do not shift as variations come and go.
        for column, width in enumerate((300, 80, 110, 24)):
            self.grid.setColumnMinimumWidth(column, width)
        self.grid.setColumnStretch(4, 1)
        for column, title in enumerate(("Variation", "Share", "Users")):
            header = _muted(QLabel(title))
            if title == "Users":
                header.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.grid.addWidget(header, 0, column)
        self.control_name = QLabel(CONTROL)
        self.control_name.setToolTip("The users no variation takes; connect it too, or keep it as a holdout")
        self.control_percent = QLabel("100 %")
        self.control_percent.setAccessibleName("Control's share")
        self.control_percent.setToolTip("100 % minus the variations' shares")
        self.control_size = QLabel("…")
        self.control_size.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.control_size.setAccessibleName("Users in Control")
        self.grid.addWidget(self.control_name, 1, 0)
        self.grid.addWidget(self.control_percent, 1, 1)
        self.grid.addWidget(self.control_size, 1, 2)
        layout.addWidget(self.grid_box)

        self.add_button = QPushButton("&Add Variation")
        self.add_button.setIcon(QIcon.fromTheme("list-add"))
        self.add_button.clicked.connect(lambda: self.add_variation())
        self.total = _muted(QLabel())
        self.total.setAccessibleName("Total")
        add_row = QHBoxLayout()
        add_row.addWidget(self.add_button)
        add_row.addWidget(self.total, 1)
        layout.addLayout(add_row)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Message")
        self.message.setStyleSheet("color: #c62828;")
        self.message.setVisible(False)
        layout.addWidget(self.message)
        self.size_status = _muted(QLabel())
        self.size_status.setWordWrap(True)
        self.size_status.setAccessibleName("Sizes")
        layout.addWidget(self.size_status)

        self.save_button = QPushButton("&Save Test…")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        save_row = QHBoxLayout()
        save_row.addStretch(1)
        save_row.addWidget(self.save_button)
        layout.addLayout(save_row)
        layout.addStretch(1)

    def _build_saved_page(self) -> None:
        self.saved_page = QWidget()
        self.saved_scroll, layout = self._page(self.saved_page)
        layout.addWidget(_bold("A/B test"))
        self.summary = _muted(QLabel())
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("Summary")
        layout.addWidget(self.summary)
        self.saved_grid_box = QWidget()
        self.saved_grid = QGridLayout(self.saved_grid_box)
        self.saved_grid.setContentsMargins(0, 4, 0, 4)
        self.saved_grid.setHorizontalSpacing(14)
        self.saved_grid.setColumnMinimumWidth(0, 140)
        self.saved_grid.setColumnMinimumWidth(2, 90)
        self.saved_grid.setColumnStretch(3, 1)
        layout.addWidget(self.saved_grid_box)
        self.saved_status = _muted(QLabel())
        self.saved_status.setWordWrap(True)
        layout.addWidget(self.saved_status)
        self.saved_message = QLabel()
        self.saved_message.setWordWrap(True)
        self.saved_message.setStyleSheet("color: #c62828;")
        self.saved_message.setVisible(False)
        layout.addWidget(self.saved_message)
        self.delete_button = QPushButton("&Delete Test…")
        self.delete_button.setIcon(QIcon.fromTheme("edit-delete"))
        self.delete_button.setToolTip("Delete the test, its variations and every connection made for them")
        self.delete_button.clicked.connect(self.delete_test)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.delete_button)
        layout.addLayout(row)
        layout.addStretch(1)
        #: variation id (None: the whole audience) → its Connect… button, for tests and keyboard users
        self.connect_buttons: dict[int | None, QPushButton] = {}
        self.size_labels: dict[int | None, QLabel] = {}

    # -- loading -----------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Start nothing more (the editor closes, or the app quits); answers still on their way are ignored."""
        self._closed = True
        self._size_timer.stop()
        self._reload_timer.stop()

    def _home(self):
        """The open home, or None once closed (nothing new starts then)."""
        return None if self._closed else self.connection.open_home

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._started:
            self.load()

    def is_loaded(self) -> bool:
        return self._ready

    def load(self) -> None:
        """Read the audience's test and its connections again (in the background)."""
        home = self._home()
        if home is None:
            self.loading.setText("The home is not open yet.")
            return
        self._started = True
        audience_id = self.audience_id
        self.tasks.run(lambda: (home.ab_tests.get(audience_id), home.connections.list(audience_id=audience_id),
                                home.audiences.get(audience_id).effective_external_name),
                       label="Reading the A/B test", on_success=self._on_loaded, on_failure=self._on_load_failed)

    def _on_loaded(self, loaded: tuple[ABTestInfo | None, list[ConnectionInfo], str]) -> None:
        if self._closed:
            return
        test, connections, self.external_name = loaded
        had_test = self.test is not None
        self.test, self.connections = test, connections
        if test is None:
            if had_test or not self._ready:
                self._reset_draft()
            self.pages.setCurrentWidget(self.draft_scroll)
        else:
            self._show_saved()
            self.pages.setCurrentWidget(self.saved_scroll)
        self._ready = True
        self.loaded.emit()

    def _on_load_failed(self, exc: BaseException) -> None:
        self.loading.setText(failure_message(exc, "Reading the A/B test"))
        self.pages.setCurrentWidget(self.loading)

    def _on_store_changed(self, kind: str, subject_id: int) -> None:
        if not self._started:
            return
        if (kind == "audience_changed" and subject_id == self.audience_id) or kind in ("connection_changed",
                                                                                       "output_changed"):
            if self.test is None and kind == "audience_changed":
                self._schedule_sizes()  # the saved criteria changed: the draft's sizes with them
            if not self._reload_timer.isActive():
                self._reload_timer.start()

    # -- the draft ---------------------------------------------------------------------------------

    def _reset_draft(self) -> None:
        for row in list(self.rows):
            self._drop_row(row)
        self.seed = new_seed()  # a new draft, a new split
        self._refresh_draft()

    def add_variation(self, percent: int | None = None, name: str = "") -> bool:
        """Add a variation row (its share taken from Control); False, with a message, when none fits."""
        left = 100 - MIN_CONTROL_PERCENT - sum(r.percent.value() for r in self.rows)
        if len(self.rows) >= MAX_VARIATIONS:
            self._show_message(f"An A/B test has at most {MAX_VARIATIONS} variations besides Control.")
            return False
        if left < 1:
            self._show_message(f"No share is left: Control keeps at least {MIN_CONTROL_PERCENT} %. "
                               "Lower another variation's share first.")
            return False
        if percent is not None:
            refused = self._share_problem([*self.drafts(), DraftVariation(percent, name)], len(self.rows))
            if refused:
                self._show_message(refused)
                return False
        row = _VariationRow(min(DEFAULT_PERCENT, left) if percent is None else percent)
        self.rows.append(row)
        row.name.setText(name)
        row.name.textChanged.connect(lambda _text: self._refresh_draft(sizes=False))
        row.percent.valueChanged.connect(lambda value, r=row: self._on_percent(r, value))
        row.remove.clicked.connect(lambda _checked=False, r=row: self.remove_variation(self.rows.index(r)))
        self._layout_rows()
        self._refresh_draft()
        row.name.setFocus()
        return True

    def remove_variation(self, index: int) -> None:
        self._drop_row(self.rows[index])
        self._layout_rows()
        self._refresh_draft()

    def _drop_row(self, row: _VariationRow) -> None:
        self.rows.remove(row)
        for widget in row.widgets():
            self.grid.removeWidget(widget)
            widget.deleteLater()

    def _layout_rows(self) -> None:
        for index, row in enumerate(self.rows):
            for column, widget in enumerate(row.widgets()):
                self.grid.addWidget(widget, index + 2, column)
            row.number(index)

    def set_percent(self, index: int, percent: int) -> None:
        """Type a share into a row and commit it, as the user would."""
        self.rows[index].percent.setValue(percent)

    def _on_percent(self, row: _VariationRow, value: int) -> None:
        drafts = [r.draft() for r in self.rows]
        index = self.rows.index(row)
        text = self._share_problem(drafts, index)
        if text:
            # Refused: the share goes back to the last accepted one, and the message says why.
            with QSignalBlocker(row.percent):
                row.percent.setValue(row.accepted)
            self._refresh_draft(sizes=False)
            self._show_message(text)
            return
        row.accepted = value
        self._refresh_draft()

    @staticmethod
    def _share_problem(drafts: list[DraftVariation], index: int) -> str:
        """Why the share of row `index` is refused ("" when it fits); names are judged separately, live."""
        return " ".join(p.message for p in draft_problems(drafts)
                        if p.row == index and ("past 100 %" in p.message or "whole percentage" in p.message))

    def drafts(self) -> list[DraftVariation]:
        return [row.draft() for row in self.rows]

    def problems(self) -> list[str]:
        return [p.message for p in draft_problems(self.drafts())]

    def _refresh_draft(self, *, sizes: bool = True) -> None:
        percents = [row.percent.value() for row in self.rows]
        control = control_percent(percents)
        self.control_percent.setText(f"{control} %")
        for index, row in enumerate(self.rows):
            row.number(index)
        self.total.setText(f"Variations {sum(percents)} % · Control {control} % · total 100 %"
                           if self.rows else "Control holds 100 %: add a variation to start a test")
        full = len(self.rows) >= MAX_VARIATIONS
        no_share = control <= MIN_CONTROL_PERCENT
        self.add_button.setEnabled(not full and not no_share and not self._busy)
        self.add_button.setToolTip(
            f"At most {MAX_VARIATIONS} variations besides Control" if full
            else f"No share left: Control keeps at least {MIN_CONTROL_PERCENT} %" if no_share
            else "Add a variation; its share is taken from Control")
        problems = self.problems()
        if problems:
            self._show_message(" ".join(problems))
        else:
            self._show_message("")
        self.save_button.setEnabled(bool(self.rows) and not problems and not self._busy)
        self.save_button.setToolTip("Add a variation first" if not self.rows
                                    else "Fix the message above first" if problems
                                    else "Save the variations; they cannot be edited afterwards")
        if sizes:
            self._schedule_sizes()

    def _show_message(self, text: str) -> None:
        self.message.setText(f"⚠ {text}" if text else "")
        self.message.setVisible(bool(text))

    # -- sizes -------------------------------------------------------------------------------------

    def _schedule_sizes(self) -> None:
        self._generation += 1  # counts on their way are about another split
        for label in [self.control_size, *[row.size for row in self.rows]]:
            label.setText("…")
        self.size_status.setText("Counting the users of each variation…")
        self._size_timer.start()

    def _count_sizes(self) -> None:
        home = self._home()
        if home is None or self.test is not None:
            return
        if self.problems():
            self.size_status.setText("The sizes are counted again once the message above is dealt with.")
            return
        generation, audience_id, seed = self._generation, self.audience_id, self.seed
        percents = [row.percent.value() for row in self.rows]
        self.tasks.run(lambda: variant_sizes.draft_sizes(home, audience_id, percents, seed),
                       label="Counting the variations' users",
                       on_success=lambda sizes: self._on_draft_sizes(generation, sizes),
                       on_failure=lambda exc: self._on_sizes_failed(generation, exc))

    def _on_draft_sizes(self, generation: int, sizes: list[int]) -> None:
        if generation != self._generation or len(sizes) != len(self.rows) + 1:
            return
        self.sizes = sizes
        self.control_size.setText(users_text(sizes[0]))
        for row, size in zip(self.rows, sizes[1:]):
            row.size.setText(users_text(size))
        self.size_status.setText(f"{sum(sizes):,} users in the audience now, by its saved criteria. These are the "
                                 "sizes the test has once saved; they follow the audience as it changes.")
        self.sizes_shown.emit(sizes)

    def _on_sizes_failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        for label in [self.control_size, *[row.size for row in self.rows]]:
            label.setText("?")
        self.size_status.setText(f"The sizes cannot be counted: {failure_message(exc, 'Counting the variations')}")

    # -- saving ------------------------------------------------------------------------------------

    def save(self) -> bool:
        """Ask, then save the draft for good (in the background); False when nothing was started."""
        drafts = self.drafts()
        if not drafts or draft_problems(drafts) or self._busy:
            return False
        listed = ", ".join([f"{CONTROL} {control_percent([d.percent for d in drafts])} %"]
                           + [f"{row.name.text().strip() or row.name.placeholderText()} {d.percent} %"
                              for row, d in zip(self.rows, drafts)])
        if not self.confirm(self, "Save the A/B test", f"Save the A/B test ({listed})?",
                            "Once saved, the variations cannot be edited: the test can only be deleted as a whole, "
                            "with every connection made for its variations.", "Save Test"):
            return False
        home, audience_id, seed = self._home(), self.audience_id, self.seed
        if home is None:
            return False
        self._set_busy(True)
        self.tasks.run(lambda: home.ab_tests.save(audience_id, drafts, seed=seed), label="Saving the A/B test",
                       on_success=self._on_saved, on_failure=self._on_save_failed)
        return True

    def _on_saved(self, test: ABTestInfo) -> None:
        self._set_busy(False)
        self.saved.emit(test)
        self.load()  # the saved view, with the connections (none yet) and the sizes

    def _on_save_failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        self._show_message(f"Not saved. {failure_message(exc, 'Saving the A/B test')}")

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.delete_button.setEnabled(not busy)
        self._refresh_draft(sizes=False)

    # -- the saved test ----------------------------------------------------------------------------

    def _show_saved(self) -> None:
        test = self.test
        while self.saved_grid.count():
            widget = self.saved_grid.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.connect_buttons.clear()
        self.size_labels.clear()
        when = test.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
        example = test.variations[-1].name
        self.summary.setText(f"Saved by {test.created_by} on {when}. The variations are fixed: to change them, "
                             "delete the test and set up a new one. Partners receive each variation under the "
                             f"audience's external name and its own, e.g. “{self.external_name} - {example}”.")
        for column, title in enumerate(("Variation", "Share", "Users", "Connected to", "")):
            header = _muted(QLabel(title))
            if title == "Users":
                header.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.saved_grid.addWidget(header, 0, column)
        rows: list[tuple[int | None, str, int]] = [(v.id, v.name, v.percent) for v in test.variations]
        rows.append((None, WHOLE_AUDIENCE, 100))
        for line, (variant_id, name, percent) in enumerate(rows, start=1):
            outputs = [c.output_name for c in self.connections if c.variant_id == variant_id]
            size = QLabel("…")
            size.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            size.setAccessibleName(f"Users in {name}")
            self.size_labels[variant_id] = size
            connected = QLabel(", ".join(outputs) if outputs else "Not connected")
            connected.setWordWrap(True)
            connected.setAccessibleName(f"Outputs of {name}")
            if not outputs:
                _muted(connected)
            button = QPushButton("Connect…")
            button.setAccessibleName(f"Connect {name}")
            button.setToolTip(f"Connect {'the whole audience' if variant_id is None else name} to an output")
            button.clicked.connect(lambda _checked=False, v=variant_id: self.open_connect(v))
            self.connect_buttons[variant_id] = button
            label = QLabel(name) if variant_id is not None else _muted(QLabel(name))
            for column, widget in enumerate((label, QLabel(f"{percent} %"), size, connected, button)):
                self.saved_grid.addWidget(widget, line, column)
        self.saved_status.setText("Counting the users of each variation…")
        home, audience_id = self._home(), self.audience_id
        if home is None:
            return
        generation = self._generation = self._generation + 1
        self.tasks.run(lambda: variant_sizes.sizes(home, audience_id), label="Counting the variations' users",
                       on_success=lambda sizes: self._on_saved_sizes(generation, sizes),
                       on_failure=lambda exc: self._on_saved_sizes_failed(generation, exc))

    def _on_saved_sizes(self, generation: int, sizes: list[int]) -> None:
        if generation != self._generation or self.test is None or len(sizes) != len(self.test.variations):
            return
        self.sizes = sizes
        for variation, size in zip(self.test.variations, sizes):
            if variation.id in self.size_labels:
                self.size_labels[variation.id].setText(users_text(size))
        if None in self.size_labels:
            self.size_labels[None].setText(users_text(sum(sizes)))
        self.saved_status.setText("Counted from the cache now; the variations follow the audience as it changes, "
                                  "and each user stays in the same variation.")
        self.sizes_shown.emit(sizes)

    def _on_saved_sizes_failed(self, generation: int, exc: BaseException) -> None:
        if generation == self._generation:
            self.saved_status.setText(f"The sizes cannot be counted: {failure_message(exc, 'Counting the variations')}")

    def open_connect(self, variant_id: int | None) -> ConnectVariationDialog:
        """The dialog that connects a variation (None: the whole audience) to an output."""
        name = WHOLE_AUDIENCE if variant_id is None else self.test.variation(variant_id).name
        dialog = ConnectVariationDialog(self.connection, self.tasks, self.audience_id, variant_id, name, self,
                                        external_name=self.external_name)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog
        dialog.open()
        return dialog

    def delete_test(self) -> None:
        """Say what goes (the variations and their connections), ask, then delete in the background."""
        home, audience_id = self._home(), self.audience_id
        if home is None or self.test is None or self._busy:
            return
        self.tasks.run(lambda: home.ab_tests.deletion_impact(audience_id), label="Reading what the test holds",
                       on_success=self._confirm_delete, on_failure=self._on_delete_failed)

    def _confirm_delete(self, impact: DeletionImpact) -> None:
        names = ", ".join(v.name for v in impact.test.variations)
        if impact.connections:
            gone = "\n".join(f"• {c.variation_name} → {c.output_name}" for c in impact.connections)
            count = len(impact.connections)
            informative = (f"{count} connection{'s' if count != 1 else ''} made for the variations go with it:\n"
                           f"{gone}\n\nThe partners keep what they already received. Connections of the whole "
                           "audience stay.")
        else:
            informative = "No connections were made for the variations. Connections of the whole audience stay."
        if not self.confirm(self, "Delete the A/B test", f"Delete the A/B test and its variations ({names})?",
                            informative, "Delete Test"):
            return
        home, audience_id = self._home(), self.audience_id
        if home is None:
            return
        self._set_busy(True)
        self.tasks.run(lambda: home.ab_tests.delete(audience_id), label="Deleting the A/B test",
                       on_success=self._on_deleted, on_failure=self._on_delete_failed)

    def _on_deleted(self, impact: DeletionImpact) -> None:
        self._set_busy(False)
        self.test = None
        self._reset_draft()
        self.pages.setCurrentWidget(self.draft_scroll)
        self.deleted.emit(impact)
        self.load()

    def _on_delete_failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        self.saved_message.setText(f"⚠ {failure_message(exc, 'Deleting the A/B test')}")
        self.saved_message.setVisible(True)


class ConnectVariationDialog(QDialog):
    """Connect one variation (or the whole audience) to an output: choose the output, its settings and status."""

    #: fires on the GUI thread once connected (the ConnectionInfo)
    connected = Signal(object)

    def __init__(self, connection: HomeConnection, tasks: Tasks, audience_id: int, variant_id: int | None,
                 name: str, parent: QWidget | None = None, *, external_name: str = "") -> None:
        super().__init__(parent)
        self._connection, self._tasks = connection, tasks
        self.audience_id, self.variant_id = audience_id, variant_id
        self.outputs: list[OutputInfo] = []
        self.setWindowTitle(f"Connect “{name}”")
        self.setMinimumWidth(440)
        what = "the whole audience" if variant_id is None else f"the users of “{name}”"
        downstream = external_name if variant_id is None else f"{external_name or '[External Name]'} - {name}"
        intro = QLabel(f"Send {what} to an output; the partner receives it as “{downstream}”.")
        intro.setWordWrap(True)
        self.output = QComboBox()
        self.output.setAccessibleName("Output")
        self.output.currentIndexChanged.connect(self._on_output_chosen)
        self.status = QComboBox()
        self.status.setAccessibleName("Status")
        self.status.addItem("Sending", "sending")
        self.status.addItem("Inactive", "inactive")
        self.form = QFormLayout()
        self.form.addRow("&Output", self.output)
        self.form.addRow("&Status", self.status)
        self.settings_box = QVBoxLayout()
        self.settings_form = None
        self.message = QLabel(wordWrap=True)
        self.message.setVisible(False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.connect_button = self.buttons.addButton("&Connect", QDialogButtonBox.ButtonRole.AcceptRole)
        self.connect_button.setEnabled(False)
        self.buttons.accepted.connect(self.connect_output)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(self.form)
        layout.addLayout(self.settings_box)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        home = connection.open_home
        tasks.run(lambda: home.outputs.list(), label="Loading outputs", on_success=self._on_outputs,
                  on_failure=lambda exc: self._show(failure_message(exc, "Loading outputs")))

    def _on_outputs(self, outputs: list[OutputInfo]) -> None:
        self.outputs = outputs
        with QSignalBlocker(self.output):
            for output in outputs:
                self.output.addItem(f"{output.name} ({output.partner_name})", output.id)
        if not outputs:
            self._show("There are no outputs yet: create one in the Connections pane first.")
            return
        self._on_output_chosen(0)
        self.connect_button.setEnabled(True)

    def choose_output(self, output_id: int) -> None:
        self.output.setCurrentIndex(self.output.findData(output_id))

    def _on_output_chosen(self, index: int) -> None:
        # Imported here: the form pulls in the partners' identity labels, needed only once a dialog opens.
        from app.connectors.outputs.directory import partner
        from app.ui.connections.form import FieldsForm

        if self.settings_form is not None:
            self.settings_box.removeWidget(self.settings_form)
            self.settings_form.deleteLater()
            self.settings_form = None
        if not 0 <= index < len(self.outputs):
            return
        fields = partner(self.outputs[index].partner).connection_fields
        if fields:
            self.settings_form = FieldsForm(fields)
            self.settings_box.addWidget(self.settings_form)

    def connect_output(self) -> None:
        output_id = self.output.currentData()
        if output_id is None:
            self._show("Choose an output to connect to.")
            return
        home = self._connection.open_home
        settings = self.settings_form.values() if self.settings_form is not None else {}
        status, audience_id, variant_id = self.status.currentData(), self.audience_id, self.variant_id
        self.connect_button.setEnabled(False)
        self._tasks.run(lambda: home.connections.connect(audience_id, output_id, settings, status=status,
                                                         variant_id=variant_id),
                        label="Connecting", on_success=self._on_connected, on_failure=self._on_failed)

    def _on_connected(self, info: ConnectionInfo) -> None:
        self.connected.emit(info)
        self.accept()

    def _on_failed(self, exc: BaseException) -> None:
        self.connect_button.setEnabled(True)
        if isinstance(exc, SettingsProblems) and self.settings_form is not None:
            self.settings_form.show_problems(exc.problems)
        self._show(failure_message(exc, "Connecting"))

    def _show(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
