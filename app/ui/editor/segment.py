"""The audience's "Segment" tab: how it is offered as a segment (expiration, visibility, CPM price, category).

The settings are saved with their own Save Segment Settings button, like the A/B test, not with the
criteria's undo: they are about selling the audience, not about who is in it. Every value is checked
as the user types (the same pure checks the service makes), so a wrong price is explained next to
the field; the service checks again when saving. The CPM field is disabled for a private segment,
with the reason beside it; making a priced segment private says that saving clears the price.

Below the settings, the Channels section (app/ui/channels) shows where the segment is pushed.

Reading and saving run through `Tasks`, never on the GUI thread.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QPalette, QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.errors import InvalidInput
from app.models.store.schema import MAX_EXPIRATION_DAYS
from app.models.services.segments import (
    CURRENCY,
    MAX_CATEGORY_LENGTH,
    PRIVATE,
    PRIVATE_PRICE_REASON,
    PUBLIC,
    SegmentInfo,
    SegmentSettingsService,
    clean_category,
    parse_cpm,
)
from app.ui.audiences.model import local_time
from app.ui.channels.section import ChannelsSection
from app.ui.home import HomeConnection
from app.ui.workers import Tasks, failure_message

log = logging.getLogger(__name__)

#: The expiration offered when the user first picks "After": a quarter, a common segment lifetime.
DEFAULT_EXPIRATION_DAYS = 90
PRIVATE_EXPLANATION = PRIVATE_PRICE_REASON[0].upper() + PRIVATE_PRICE_REASON[1:] + "."
ERROR_STYLE = "color: #c62828;"


def _muted(label: QLabel) -> QLabel:
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    label.setWordWrap(True)
    return label


class SegmentTab(QWidget):
    """See the module docstring. Reads the settings when first shown (or on `load()`)."""

    #: fires once the tab shows the audience's settings
    loaded = Signal()
    #: fires after the settings were saved (the SegmentInfo)
    saved = Signal(object)
    #: fires when saving failed; the text is meant for the user (and is shown on the tab)
    save_failed = Signal(str)

    def __init__(self, connection: HomeConnection, tasks: Tasks, audience_id: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Segment settings")
        self.connection = connection
        self.tasks = tasks
        self.audience_id = audience_id
        self.settings: SegmentInfo | None = None
        self._started = False
        self._ready = False
        self._busy = False
        self._closed = False

        self.pages = QStackedWidget()
        self.loading = _muted(QLabel("Reading the segment settings…", alignment=Qt.AlignmentFlag.AlignCenter))
        self.pages.addWidget(self.loading)
        # The form is built when the tab is first shown: most editors never show it, and building it
        # with the editor would lengthen the turn of the event loop that opens an audience.
        self._built = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)
        connection.store_changed.connect(self._on_store_changed)

    # -- building ----------------------------------------------------------------------------------

    def _build_form(self) -> None:
        self._built = True
        content = QWidget()
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setWidget(content)
        self.pages.addWidget(self.scroll)
        outer = QVBoxLayout(content)
        outer.setContentsMargins(18, 14, 18, 14)
        outer.setSpacing(10)
        title = QLabel("Offer the audience as a segment")
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        outer.addWidget(title)
        outer.addWidget(_muted(QLabel(
            "How the audience is sold as a segment: how long it stays on the channels it is pushed to, who may "
            "buy it, its price and where it sits in the taxonomy.")))

        # Expiration: never, or after N days.
        self.never = QRadioButton("&Never")
        self.never.setToolTip("The segment stays on its channels until you take it off")
        self.after = QRadioButton("&After")
        self.after.setToolTip("The segment is old this many days after each push, and is taken off that channel")
        self.days = QSpinBox()
        self.days.setRange(1, MAX_EXPIRATION_DAYS)
        self.days.setValue(DEFAULT_EXPIRATION_DAYS)
        self.days.setSuffix(" days")
        self.days.setAccessibleName("Expiration in days")
        self.days.setToolTip(f"1 to {MAX_EXPIRATION_DAYS} days (10 years) after the segment is pushed to a channel")
        self.expiration_group = QButtonGroup(self)
        self.expiration_group.addButton(self.never)
        self.expiration_group.addButton(self.after)
        expiration_row = QHBoxLayout()
        for widget in (self.never, self.after, self.days):
            expiration_row.addWidget(widget)
        expiration_row.addStretch(1)
        expiration = QWidget()
        expiration_column = QVBoxLayout(expiration)
        expiration_column.setContentsMargins(0, 0, 0, 0)
        expiration_column.addLayout(expiration_row)
        expiration_column.addWidget(_muted(QLabel(
            "After it, the segment is considered old and is removed from the channels it was pushed to; "
            "you will see that it was.")))

        # Visibility.
        self.public = QRadioButton("&Public: offered on the data marketplace")
        self.public.setToolTip("Any data buyer can find and buy the segment on the marketplace")
        self.private = QRadioButton("Pri&vate: only you, the data provider, can buy it")
        self.private.setToolTip("The segment is not offered on the marketplace")
        self.visibility_group = QButtonGroup(self)
        self.visibility_group.addButton(self.public)
        self.visibility_group.addButton(self.private)
        visibility = QWidget()
        visibility_column = QVBoxLayout(visibility)
        visibility_column.setContentsMargins(0, 0, 0, 0)
        visibility_column.addWidget(self.public)
        visibility_column.addWidget(self.private)

        # CPM price.
        self.cpm = QLineEdit()
        self.cpm.setAccessibleName("CPM price")
        self.cpm.setPlaceholderText("e.g. 2.50")
        self.cpm.setMaximumWidth(140)
        self.cpm.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.currency = QLabel(f"{CURRENCY} per thousand users")
        price_row = QHBoxLayout()
        price_row.addWidget(self.cpm)
        price_row.addWidget(self.currency)
        price_row.addStretch(1)
        self.price_note = _muted(QLabel())
        self.price_note.setAccessibleName("CPM price note")
        self.price_error = QLabel()
        self.price_error.setWordWrap(True)
        self.price_error.setStyleSheet(ERROR_STYLE)
        self.price_error.setAccessibleName("CPM price problem")
        self.price_error.setVisible(False)
        price = QWidget()
        price_column = QVBoxLayout(price)
        price_column.setContentsMargins(0, 0, 0, 0)
        price_column.addLayout(price_row)
        price_column.addWidget(self.price_error)
        price_column.addWidget(self.price_note)

        # Category.
        self.category = QComboBox()
        self.category.setEditable(True)
        self.category.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.category.setAccessibleName("Category")
        self.category.lineEdit().setPlaceholderText("e.g. Retail > Outdoor")
        self.category.lineEdit().setMaxLength(MAX_CATEGORY_LENGTH + 20)  # room to tidy spaces before the check
        self.category.setToolTip("Where the segment sits in the taxonomy; separate levels with “>”. "
                                 "The list offers the categories used so far.")
        self.category.setMinimumWidth(280)
        self.category_error = QLabel()
        self.category_error.setWordWrap(True)
        self.category_error.setStyleSheet(ERROR_STYLE)
        self.category_error.setAccessibleName("Category problem")
        self.category_error.setVisible(False)
        category = QWidget()
        category_column = QVBoxLayout(category)
        category_column.setContentsMargins(0, 0, 0, 0)
        category_column.addWidget(self.category, 0, Qt.AlignmentFlag.AlignLeft)
        category_column.addWidget(self.category_error)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setVerticalSpacing(14)
        form.addRow("Expiration", expiration)
        form.addRow("Visibility", visibility)
        form.addRow("CPM price", price)
        form.addRow("Category", category)
        outer.addLayout(form)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setAccessibleName("Message")
        self.message.setVisible(False)
        outer.addWidget(self.message)
        self.status = _muted(QLabel())
        self.status.setAccessibleName("Last saved")
        outer.addWidget(self.status)

        self.revert_button = QPushButton("&Revert")
        self.revert_button.setToolTip("Show the saved settings again, dropping the changes here")
        self.revert_button.clicked.connect(self._revert)
        self.save_button = QPushButton("&Save Segment Settings")
        self.save_button.setDefault(True)
        self.save_button.setToolTip("Save the expiration, visibility, price and category")
        self.save_button.clicked.connect(self.save)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)
        outer.addLayout(buttons)
        # Where the segment is pushed (and taken off when it expires or is made private).
        self.channels = ChannelsSection(self.connection, self.tasks, self.audience_id)
        outer.addWidget(self.channels)
        outer.addStretch(1)

        self.expiration_group.buttonToggled.connect(lambda *_: self._on_edited())
        self.visibility_group.buttonToggled.connect(lambda *_: self._on_edited())
        self.days.valueChanged.connect(lambda _v: self._on_edited())
        self.cpm.textChanged.connect(lambda _t: self._on_edited())
        self.category.currentTextChanged.connect(lambda _t: self._on_edited())

    # -- loading -----------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Start nothing more (the editor closes, or the app quits); answers still on their way are ignored."""
        self._closed = True
        if self._built:
            self.channels.shutdown()

    def _service(self) -> SegmentSettingsService | None:
        home = None if self._closed else self.connection.open_home
        return None if home is None else home.segments

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._started:
            self.load()

    def is_loaded(self) -> bool:
        return self._ready

    def load(self) -> None:
        """Read the audience's settings and the categories used so far (in the background)."""
        service = self._service()
        if service is None:
            self.loading.setText("The home is not open yet.")
            return
        if not self._built:
            self._build_form()
        self._started = True
        audience_id = self.audience_id
        self.tasks.run(lambda: (service.get(audience_id), service.categories()), label="Reading the segment settings",
                       on_success=self._on_loaded, on_failure=self._on_load_failed)

    def _on_loaded(self, loaded: tuple[SegmentInfo, list[str]]) -> None:
        if self._closed:
            return
        settings, categories = loaded
        self._show(settings, categories)
        self.pages.setCurrentWidget(self.scroll)
        self._ready = True
        self.channels.load()  # after the settings: whether it may be pushed depends on them
        self.loaded.emit()

    def _on_load_failed(self, exc: BaseException) -> None:
        self.loading.setText(failure_message(exc, "Reading the segment settings"))
        self.pages.setCurrentWidget(self.loading)

    def _on_store_changed(self, kind: str, subject_id: int) -> None:
        # Changed elsewhere (the command line, another window): show it, unless the user is editing here.
        if (self._ready and not self._busy and kind == "audience_changed" and subject_id == self.audience_id
                and not self.is_dirty()):
            self.load()

    def _show(self, settings: SegmentInfo, categories: list[str] | None = None) -> None:
        self.settings = settings
        blockers = [QSignalBlocker(w) for w in (self.expiration_group, self.visibility_group, self.days, self.cpm,
                                                 self.category)]
        (self.never if settings.expiration_days is None else self.after).setChecked(True)
        self.days.setValue(settings.expiration_days or DEFAULT_EXPIRATION_DAYS)
        (self.public if settings.is_public else self.private).setChecked(True)
        self.cpm.setText("" if settings.cpm is None else f"{settings.cpm:.2f}")
        if categories is not None:
            self.category.clear()
            self.category.addItems(categories)
        self.category.setEditText(settings.category or "")
        for blocker in blockers:
            blocker.unblock()
        if settings.updated_at is None:
            self.status.setText("Not set yet: the segment never expires, is private and has no price.")
        else:
            self.status.setText(f"Last saved by {settings.updated_by}, {local_time(settings.updated_at)}.")
        self.message.setVisible(False)
        self._refresh()

    # -- the form ----------------------------------------------------------------------------------

    def form_values(self) -> tuple[int | None, str, str, str]:
        """What the form holds, unchecked: (expiration days or None, visibility, CPM text, category text)."""
        days = self.days.value() if self.after.isChecked() else None
        visibility = PUBLIC if self.public.isChecked() else PRIVATE
        return days, visibility, self.cpm.text(), self.category.currentText()

    def _checked(self) -> tuple[tuple[int | None, str, Decimal | None, str | None] | None, str, str]:
        """The form's values checked: (values or None, the price's problem, the category's problem)."""
        days, visibility, cpm_text, category_text = self.form_values()
        price_problem = category_problem = ""
        cpm = None
        if visibility == PUBLIC:
            try:
                cpm = parse_cpm(cpm_text)
            except InvalidInput as exc:
                price_problem = str(exc)
        category = None
        try:
            category = clean_category(category_text)
        except InvalidInput as exc:
            category_problem = str(exc)
        if price_problem or category_problem:
            return None, price_problem, category_problem
        return (days, visibility, cpm, category), "", ""

    def is_dirty(self) -> bool:
        if self.settings is None:
            return False
        values, _, _ = self._checked()
        s = self.settings
        return values is None or values != (s.expiration_days, s.visibility, s.cpm, s.category)

    def _on_edited(self) -> None:
        self.message.setVisible(False)  # it was about the values before this change
        self._refresh()

    def _refresh(self) -> None:
        public = self.public.isChecked()
        self.days.setEnabled(self.after.isChecked())
        self.cpm.setEnabled(public)
        self.currency.setEnabled(public)
        if public:
            self.cpm.setToolTip(f"The price per thousand users in {CURRENCY}, at most two decimals; "
                                "leave empty for no price yet")
            self.price_note.setText("Buyers on the marketplace pay this per thousand users; empty: no price yet.")
        else:
            self.cpm.setToolTip(PRIVATE_EXPLANATION)
            stored = self.settings.cpm if self.settings is not None else None
            if stored is not None:
                self.price_note.setText(f"Saving clears the price of {stored:.2f} {CURRENCY}. {PRIVATE_EXPLANATION}")
            else:
                self.price_note.setText(PRIVATE_EXPLANATION)
        _values, price_problem, category_problem = self._checked()
        self.price_error.setText(price_problem)
        self.price_error.setVisible(bool(price_problem))
        self.category_error.setText(category_problem)
        self.category_error.setVisible(bool(category_problem))
        dirty = self.is_dirty()
        self.save_button.setEnabled(self._ready and not self._busy and dirty)
        self.revert_button.setEnabled(not self._busy and dirty)

    def _revert(self) -> None:
        if self.settings is not None:
            self._show(self.settings)

    # -- saving ------------------------------------------------------------------------------------

    def save(self) -> bool:
        """Save the form (in the background); False, with the problem shown, when a value is wrong."""
        values, price_problem, category_problem = self._checked()
        if values is None:
            fields = " and ".join(f for f, problem in (("price", price_problem), ("category", category_problem))
                                  if problem)
            self._show_message(f"Nothing was saved: correct the {fields} above.")
            (self.cpm if price_problem else self.category).setFocus()
            return False
        service = self._service()
        if service is None or self._busy:
            return False
        days, visibility, cpm, category = values
        audience_id = self.audience_id
        self._busy = True
        self.message.setVisible(False)
        self._refresh()
        self.tasks.run(lambda: (service.update(audience_id, expiration_days=days, visibility=visibility, cpm=cpm,
                                               category=category), service.categories()),
                       label="Saving the segment settings", on_success=self._on_saved, on_failure=self._on_save_failed)
        return True

    def _on_saved(self, result: tuple[SegmentInfo, list[str]]) -> None:
        self._busy = False
        if self._closed:
            return
        settings, categories = result
        self._show(settings, categories)
        self.channels.load()  # a segment made private is taken off its channels now
        self.saved.emit(settings)

    def _on_save_failed(self, exc: BaseException) -> None:
        self._busy = False
        if self._closed:
            return
        message = failure_message(exc, "Saving the segment settings")
        self._show_message(message)
        self._refresh()
        self.save_failed.emit(message)

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(True)
