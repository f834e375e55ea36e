"""The A/B Test tab's draft: the split editor where variations are set up, each sized live, before saving.

Control holds 100 % and each added variation takes its share from it; a share that would push the
total past 100 % is refused with a message and goes back to the last accepted one. The draft's seed
is chosen when the draft begins, so the sizes shown while editing are the saved test's sizes. The
sizes are counted in a worker (newest request wins: a count for an older split is never shown).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QPalette
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QToolButton, QVBoxLayout, QWidget

from app.engines import variant_sizes
from app.engines.home import OpenHome
from app.models.services.ab_tests import (
    CONTROL,
    MIN_CONTROL_PERCENT,
    DraftVariation,
    control_percent,
    default_name,
    draft_problems,
    new_seed,
)
from app.models.store.schema import MAX_VARIATIONS
from app.ui.kit.newest import NewestWins
from app.ui.workers import Tasks, failure_message

#: How long after the last change to a draft its sizes are counted again.
SIZE_DELAY_MS = 250
#: A new variation's share, when that much is left.
DEFAULT_PERCENT = 10


def users_text(size: int | None) -> str:
    if size is None:
        return "…"
    return f"{size:,} user{'' if size == 1 else 's'}"


def muted(label: QLabel) -> QLabel:
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return label


def bold(text: str) -> QLabel:
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


class DraftSplit(QWidget):
    """The variations being set up, Control first, with their live sizes and Save Test…."""

    #: fires when the users per variation are shown (Control first)
    sizes_shown = Signal(object)
    #: the user asked to save the draft (Save Test…)
    save_requested = Signal()

    def __init__(self, tasks: Tasks, audience_id: int, home: Callable[[], OpenHome | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.audience_id = audience_id
        #: the open home, or None once the tab closed (nothing new starts then)
        self._home = home
        self.seed = new_seed()
        self.rows: list[_VariationRow] = []
        self.sizes: list[int] | None = None
        #: whether a save or delete runs (nothing can be added or saved then)
        self.busy = False
        #: whether a saved test is shown instead (the draft's sizes are not counted then)
        self.has_test = False
        self._sizes = NewestWins()
        self._build()
        self._size_timer = QTimer(self, singleShot=True, interval=SIZE_DELAY_MS)
        self._size_timer.timeout.connect(self._count_sizes)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 14)
        layout.setSpacing(10)
        layout.addWidget(bold("Split the audience into variations"))
        intro = muted(QLabel(
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
            header = muted(QLabel(title))
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
        self.total = muted(QLabel())
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
        self.size_status = muted(QLabel())
        self.size_status.setWordWrap(True)
        self.size_status.setAccessibleName("Sizes")
        layout.addWidget(self.size_status)

        self.save_button = QPushButton("&Save Test…")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(lambda: self.save_requested.emit())
        save_row = QHBoxLayout()
        save_row.addStretch(1)
        save_row.addWidget(self.save_button)
        layout.addLayout(save_row)
        layout.addStretch(1)

    # -- the variations ----------------------------------------------------------------------------

    def reset(self) -> None:
        """A new draft: no variations, a new split."""
        for row in list(self.rows):
            self._drop_row(row)
        self.seed = new_seed()
        self.refresh()

    def add_variation(self, percent: int | None = None, name: str = "") -> bool:
        """Add a variation row (its share taken from Control); False, with a message, when none fits."""
        left = 100 - MIN_CONTROL_PERCENT - sum(r.percent.value() for r in self.rows)
        if len(self.rows) >= MAX_VARIATIONS:
            self.show_message(f"An A/B test has at most {MAX_VARIATIONS} variations besides Control.")
            return False
        if left < 1:
            self.show_message(f"No share is left: Control keeps at least {MIN_CONTROL_PERCENT} %. "
                              "Lower another variation's share first.")
            return False
        if percent is not None:
            refused = share_problem([*self.drafts(), DraftVariation(percent, name)], len(self.rows))
            if refused:
                self.show_message(refused)
                return False
        row = _VariationRow(min(DEFAULT_PERCENT, left) if percent is None else percent)
        self.rows.append(row)
        row.name.setText(name)
        row.name.textChanged.connect(lambda _text: self.refresh(sizes=False))
        row.percent.valueChanged.connect(lambda value, r=row: self._on_percent(r, value))
        row.remove.clicked.connect(lambda _checked=False, r=row: self.remove_variation(self.rows.index(r)))
        self._layout_rows()
        self.refresh()
        row.name.setFocus()
        return True

    def remove_variation(self, index: int) -> None:
        self._drop_row(self.rows[index])
        self._layout_rows()
        self.refresh()

    def set_percent(self, index: int, percent: int) -> None:
        """Type a share into a row and commit it, as the user would."""
        self.rows[index].percent.setValue(percent)

    def drafts(self) -> list[DraftVariation]:
        return [row.draft() for row in self.rows]

    def problems(self) -> list[str]:
        return [p.message for p in draft_problems(self.drafts())]

    def listed(self) -> str:
        """The split in words, Control first: "Control 80 %, Variation 1 20 %"."""
        drafts = self.drafts()
        return ", ".join([f"{CONTROL} {control_percent([d.percent for d in drafts])} %"]
                         + [f"{row.name.text().strip() or row.name.placeholderText()} {d.percent} %"
                            for row, d in zip(self.rows, drafts)])

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

    def _on_percent(self, row: _VariationRow, value: int) -> None:
        drafts = [r.draft() for r in self.rows]
        text = share_problem(drafts, self.rows.index(row))
        if text:
            # Refused: the share goes back to the last accepted one, and the message says why.
            with QSignalBlocker(row.percent):
                row.percent.setValue(row.accepted)
            self.refresh(sizes=False)
            self.show_message(text)
            return
        row.accepted = value
        self.refresh()

    def refresh(self, *, sizes: bool = True) -> None:
        """Show Control's share, the total, what can be added and saved; count the sizes again (`sizes`)."""
        percents = [row.percent.value() for row in self.rows]
        control = control_percent(percents)
        self.control_percent.setText(f"{control} %")
        for index, row in enumerate(self.rows):
            row.number(index)
        self.total.setText(f"Variations {sum(percents)} % · Control {control} % · total 100 %"
                           if self.rows else "Control holds 100 %: add a variation to start a test")
        full = len(self.rows) >= MAX_VARIATIONS
        no_share = control <= MIN_CONTROL_PERCENT
        self.add_button.setEnabled(not full and not no_share and not self.busy)
        self.add_button.setToolTip(
            f"At most {MAX_VARIATIONS} variations besides Control" if full
            else f"No share left: Control keeps at least {MIN_CONTROL_PERCENT} %" if no_share
            else "Add a variation; its share is taken from Control")
        problems = self.problems()
        self.show_message(" ".join(problems) if problems else "")
        self.save_button.setEnabled(bool(self.rows) and not problems and not self.busy)
        self.save_button.setToolTip("Add a variation first" if not self.rows
                                    else "Fix the message above first" if problems
                                    else "Save the variations; they cannot be edited afterwards")
        if sizes:
            self.schedule_sizes()

    def show_message(self, text: str) -> None:
        self.message.setText(f"⚠ {text}" if text else "")
        self.message.setVisible(bool(text))

    # -- sizes -------------------------------------------------------------------------------------

    def schedule_sizes(self) -> None:
        """Count the sizes again once changes pause; counts on their way are about another split."""
        self._sizes.begin()
        for label in [self.control_size, *[row.size for row in self.rows]]:
            label.setText("…")
        self.size_status.setText("Counting the users of each variation…")
        self._size_timer.start()

    def stop(self) -> None:
        """Count nothing more; answers on their way are dropped (the tab closes)."""
        self._size_timer.stop()
        self._sizes.stop()

    def _count_sizes(self) -> None:
        home = self._home()
        if home is None or self.has_test:
            return
        if self.problems():
            self.size_status.setText("The sizes are counted again once the message above is dealt with.")
            return
        ticket, audience_id, seed = self._sizes.begin(), self.audience_id, self.seed
        percents = [row.percent.value() for row in self.rows]
        self.tasks.run(lambda: variant_sizes.draft_sizes(home, audience_id, percents, seed),
                       label="Counting the variations' users",
                       on_success=ticket.deliver(self._on_sizes), on_failure=ticket.deliver(self._on_sizes_failed))

    def _on_sizes(self, sizes: list[int]) -> None:
        if len(sizes) != len(self.rows) + 1:
            return
        self.sizes = sizes
        self.control_size.setText(users_text(sizes[0]))
        for row, size in zip(self.rows, sizes[1:]):
            row.size.setText(users_text(size))
        self.size_status.setText(f"{sum(sizes):,} users in the audience now, by its saved criteria. These are the "
                                 "sizes the test has once saved; they follow the audience as it changes.")
        self.sizes_shown.emit(sizes)

    def _on_sizes_failed(self, exc: BaseException) -> None:
        for label in [self.control_size, *[row.size for row in self.rows]]:
            label.setText("?")
        self.size_status.setText(f"The sizes cannot be counted: {failure_message(exc, 'Counting the variations')}")


def share_problem(drafts: list[DraftVariation], index: int) -> str:
    """Why the share of row `index` is refused ("" when it fits); names are judged separately, live."""
    return " ".join(p.message for p in draft_problems(drafts)
                    if p.row == index and ("past 100 %" in p.message or "whole percentage" in p.message))
