"""Small input widgets the criterion cards are built from; each edits one value of a criterion.

Every field has `set_value` (shows a value without reporting it as an edit) and an `edited`
signal fired when the user changes it. `merges` says whether consecutive edits of the field make
one undo step (typing, spinning) or one each (choosing from a list).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QDate, QSignalBlocker, QStringListModel, Qt, QTimer, QTimeZone, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDateEdit,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QWidget,
)

from app.builder.wording import COUNT_WORDS, OPERATOR_WORDS

#: How long typing pauses before the cache is asked for completions.
SUGGEST_DELAY_MS = 150

#: Asks for suggestions: (prefix, callback taking the list of values); the answer may come later.
Suggest = Callable[[str, Callable[[list[str]], None]], None]


def _blocked(widget: QWidget):
    return QSignalBlocker(widget)


class ChoiceField(QComboBox):
    """A choice among fixed (value, label) pairs; editable ones also take any typed text."""

    edited = Signal(object)
    merges = False

    def __init__(self, choices: Sequence[tuple[Any, str]] = (), *, editable: bool = False, accessible_name: str = "",
                 tooltip: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditable(editable)
        self.setAccessibleName(accessible_name)
        self.setToolTip(tooltip)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.set_choices(choices)
        self.activated.connect(self._on_activated)
        if editable:
            self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
            self.lineEdit().editingFinished.connect(self._on_text_finished)
            self.completer().setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            self.completer().setFilterMode(Qt.MatchFlag.MatchContains)

    def set_choices(self, choices: Sequence[tuple[Any, str]]) -> None:
        current = self.value()
        with _blocked(self):
            self.clear()
            for value, label in choices:
                self.addItem(label, value)
        if current is not None:
            self.set_value(current)

    def value(self) -> Any:
        if self.isEditable():
            text = self.currentText().strip()
            index = self.findText(text)
            if index >= 0:
                return self.itemData(index)
            return text or None
        return self.currentData()

    def set_value(self, value: Any) -> None:
        with _blocked(self):
            index = self.findData(value)
            if index < 0 and self.isEditable():
                self.setEditText("" if value is None else str(value))
            elif index >= 0:
                self.setCurrentIndex(index)

    def _on_activated(self, _index: int) -> None:
        self.edited.emit(self.value())

    def _on_text_finished(self) -> None:
        self.edited.emit(self.value())


class TextField(QLineEdit):
    """A line of text; with `suggest`, completes from the most common values in the cache."""

    edited = Signal(object)
    merges = True

    def __init__(self, *, placeholder: str = "", accessible_name: str = "", tooltip: str = "",
                 suggest: Suggest | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(placeholder)
        self.setAccessibleName(accessible_name or placeholder)
        self.setToolTip(tooltip)
        self.setAcceptDrops(False)  # drags over a card belong to the canvas
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("M" * 10))
        self.textEdited.connect(self._on_text_edited)
        self._suggest = suggest
        if suggest is not None:
            self._completions = QStringListModel(self)
            completer = QCompleter(self._completions, self)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.activated.connect(self._on_completed)
            self._attach(completer)
            self._timer = QTimer(self, singleShot=True, interval=SUGGEST_DELAY_MS)
            self._timer.timeout.connect(self._ask)

    def _attach(self, completer: QCompleter) -> None:
        """The completer completes the whole text."""
        self.setCompleter(completer)

    def suggestions(self) -> list[str]:
        """The values suggested last (none asked yet: empty)."""
        return self._completions.stringList() if self._suggest is not None else []

    def value(self) -> str:
        return self.text()

    def set_value(self, value: Any) -> None:
        text = "" if value is None else str(value)
        if text != self.text():  # leave the cursor alone while the user types
            with _blocked(self):
                self.setText(text)

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        if self._suggest is not None and not self._completions.stringList():
            self._timer.start()

    def _on_text_edited(self, text: str) -> None:
        self.edited.emit(text)
        if self._suggest is not None:
            self._timer.start()

    def _ask(self) -> None:
        prefix = self.text()
        self._suggest(prefix, self._show)

    def _show(self, values: list[str]) -> None:
        self._completions.setStringList(values)
        if self.hasFocus() and values and self.text() and values != [self.text()]:
            self.completer().complete()

    def _on_completed(self, text: str) -> None:
        self.edited.emit(text)


class ListField(TextField):
    """Several texts, separated by commas; with `suggest`, completes the one being typed (after the last comma)."""

    def _attach(self, completer: QCompleter) -> None:
        # Not the line edit's own completer: that one would replace every value typed before.
        completer.setWidget(self)
        self._completer = completer

    def completer(self) -> QCompleter | None:  # type: ignore[override]
        return getattr(self, "_completer", None)

    def _typed(self) -> str:
        return self.text().rsplit(",", 1)[-1].strip()

    def _ask(self) -> None:
        self._suggest(self._typed(), self._show)

    def _show(self, values: list[str]) -> None:
        self._completions.setStringList(values)
        typed = self._typed()
        if self.hasFocus() and values and typed and values != [typed]:
            self._completer.setCompletionPrefix(typed)
            self._completer.complete()

    def value(self) -> list[str]:  # type: ignore[override]
        return split_list(self.text())

    def set_value(self, value: Any) -> None:
        values = value if isinstance(value, list) else ([] if value in (None, "") else [value])
        if split_list(self.text()) != [str(v) for v in values]:
            with _blocked(self):
                self.setText(", ".join(str(v) for v in values))

    def _on_text_edited(self, text: str) -> None:
        self.edited.emit(split_list(text))
        if self._suggest is not None:
            self._timer.start()

    def _on_completed(self, text: str) -> None:
        before = split_list(self.text().rsplit(",", 1)[0]) if "," in self.text() else []
        values = [*before, text]
        with _blocked(self):
            self.setText(", ".join(values) + ", ")  # ready for the next value
        self.edited.emit(values)


class CityField(QLineEdit):
    """Find a city by typing its name: "Den" suggests "Denver, CO, US (pop 729,019)"; choosing one fires
    `chosen(city)` (an `app.builder.cities.City`, whose coordinates the card takes)."""

    chosen = Signal(object)

    def __init__(self, find: Callable[[str, Callable[[list], None]], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._find = find
        self._found: dict[str, Any] = {}
        #: the city last chosen (None: none, or its coordinates were changed since)
        self.chosen_city: Any = None
        self.setPlaceholderText("Find a city…")
        self.setAccessibleName("City")
        self.setToolTip("Type a city's name and choose it: its latitude and longitude are filled in "
                        "(cities of 15,000 people or more, from GeoNames)")
        self.setAcceptDrops(False)
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("M" * 14))
        self._labels = QStringListModel(self)
        completer = QCompleter(self._labels, self)
        # The search already chose what fits (ignoring accents, word starts): show all of it.
        completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        completer.activated.connect(self._on_chosen)
        completer.setWidget(self)
        self._completer = completer
        self._timer = QTimer(self, singleShot=True, interval=SUGGEST_DELAY_MS)
        self._timer.timeout.connect(lambda: self._find(self.text(), self._show))
        self.textEdited.connect(lambda _text: self._timer.start())

    def completer(self) -> QCompleter:  # type: ignore[override]
        return self._completer

    def suggestions(self) -> list[str]:
        return self._labels.stringList()

    def _show(self, cities: list) -> None:
        self._found = {city.label: city for city in cities}
        self._labels.setStringList(list(self._found))
        if self.hasFocus() and cities:
            # As wide as the longest suggestion: "Denver, CO, US (pop 729,019)" read whole, not cut at the field's width.
            popup = self._completer.popup()
            widest = max(popup.fontMetrics().horizontalAdvance(label) for label in self._found)
            rect = self.rect()
            rect.setWidth(max(self.width(), widest + popup.verticalScrollBar().sizeHint().width() + 24))
            self._completer.complete(rect)

    def _on_chosen(self, label: str) -> None:
        city = self._found.get(label)
        if city is None:
            return
        with _blocked(self):
            self.setText(city.label)
            self.setCursorPosition(0)  # the name shows, not the end of the label
        self.chosen_city = city
        self.chosen.emit(city)

    def forget(self) -> None:
        """Show no city (the coordinates are no longer the chosen city's)."""
        self.chosen_city = None
        with _blocked(self):
            self.clear()


def split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class NumberField(QDoubleSpinBox):
    """A number; `whole` for counts and amounts."""

    edited = Signal(object)
    merges = True

    def __init__(self, *, whole: bool = False, minimum: float = -1e12, maximum: float = 1e12, decimals: int = 2,
                 suffix: str = "", accessible_name: str = "", tooltip: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._whole = whole
        self.setDecimals(0 if whole else decimals)
        self.setRange(minimum, maximum)
        self.setSuffix(suffix)
        self.setAccessibleName(accessible_name)
        self.setToolTip(tooltip)
        self.setKeyboardTracking(True)
        self.setAcceptDrops(False)
        self.lineEdit().setAcceptDrops(False)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        # wide enough for what people type (not for the largest number allowed)
        digits = 7 if whole else 10
        self.setFixedWidth(self.fontMetrics().horizontalAdvance("8" * digits + suffix) + 40)
        self.valueChanged.connect(self._on_changed)

    def number(self) -> int | float:
        value = self.value()
        return int(round(value)) if self._whole else (int(value) if value == int(value) else value)

    def set_value(self, value: Any) -> None:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = 0.0
        if number != self.value():
            with _blocked(self):
                self.setValue(number)

    def _on_changed(self, _value: float) -> None:
        self.edited.emit(self.number())


def whole_number(*, minimum: int = 0, maximum: int = 1_000_000, suffix: str = "", accessible_name: str = "",
                 tooltip: str = "") -> NumberField:
    return NumberField(whole=True, minimum=minimum, maximum=maximum, suffix=suffix, accessible_name=accessible_name,
                       tooltip=tooltip)


class DateField(QDateEdit):
    """A calendar day in UTC, as "YYYY-MM-DD"."""

    edited = Signal(object)
    merges = True

    def __init__(self, *, accessible_name: str = "Date", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setCalendarPopup(True)
        self.setDisplayFormat("yyyy-MM-dd")
        self.setTimeZone(QTimeZone.utc())
        self.setAccessibleName(accessible_name)
        self.setToolTip("A calendar day in UTC; the whole day counts")
        self.setAcceptDrops(False)
        self.setDate(QDate.fromString(today(), "yyyy-MM-dd"))
        self.dateChanged.connect(self._on_changed)

    def iso(self) -> str:
        return self.date().toString("yyyy-MM-dd")

    def set_value(self, value: Any) -> None:
        date = QDate.fromString(str(value or ""), "yyyy-MM-dd")
        if date.isValid() and date != self.date():
            with _blocked(self):
                self.setDate(date)

    def _on_changed(self, _date: QDate) -> None:
        self.edited.emit(self.iso())


def today() -> str:
    return dt.datetime.now(dt.timezone.utc).date().isoformat()


UNITS = [("hours", "hours"), ("days", "days")]


class Row(QWidget):
    """Widgets side by side, with small labels between them."""

    def __init__(self, *items: QWidget | str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        for item in items:
            layout.addWidget(QLabel(item) if isinstance(item, str) else item)
        layout.addStretch(1)


# -- composite fields ------------------------------------------------------------------------------

WINDOW_CHOICES = [
    (None, "at any time"), ("within", "in the last"), ("between_ago", "between … ago"), ("before", "before"),
    ("after", "after"), ("on", "on"), ("between_dates", "between dates"),
]


class WindowField(QWidget):
    """When events happened: recency relative to the calculation, or UTC calendar days."""

    edited = Signal(object)
    merges = True

    def __init__(self, *, allow_any_time: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        choices = WINDOW_CHOICES if allow_any_time else WINDOW_CHOICES[1:]
        self.kind = ChoiceField(choices, accessible_name="Time window",
                                tooltip="When the events happened. Recency counts back from the moment the audience "
                                        "is calculated (a day is 24 hours); dates are whole UTC days, both ends included.")
        self.amount = whole_number(minimum=1, accessible_name="How many")
        self.start = whole_number(minimum=0, accessible_name="From")
        self.end = whole_number(minimum=0, accessible_name="To")
        self.unit = ChoiceField(UNITS, accessible_name="Unit")
        self.ago = QLabel("ago")
        # The date fields (QDateEdit: costly to build) are made the first time a date window is chosen.
        self._dates: dict[str, DateField] = {}
        self.and_ago, self.and_dates = QLabel("and"), QLabel("and")
        self._layout = layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        # Which of these show depends on the kind of window; hidden ones take no room.
        self._parts = {
            "within": ("amount", "unit"),
            "between_ago": ("start", "and_ago", "end", "unit", "ago"),
            "before": ("date",), "after": ("date",), "on": ("date",),
            "between_dates": ("date_from", "and_dates", "date_to"),
        }
        for widget in (self.kind, self.amount, self.start, self.and_ago, self.end, self.and_dates, self.unit, self.ago):
            layout.addWidget(widget)
        layout.addStretch(1)
        self.kind.edited.connect(self._on_kind)
        for field in (self.amount, self.start, self.end, self.unit):
            field.edited.connect(self._on_part)
        self._show(None)

    #: the date fields: their accessible names, and the widget each is placed before
    _DATE_FIELDS = {"date": ("Date", ("date_from", "and_dates")), "date_from": ("First date", ("and_dates",)),
                    "date_to": ("Last date", ("unit",))}

    @property
    def date(self) -> DateField:
        return self._date_field("date")

    @property
    def date_from(self) -> DateField:
        return self._date_field("date_from")

    @property
    def date_to(self) -> DateField:
        return self._date_field("date_to")

    def _date_field(self, name: str) -> DateField:
        field = self._dates.get(name)
        if field is None:
            accessible_name, before = self._DATE_FIELDS[name]
            field = DateField(accessible_name=accessible_name)
            anchors = [self._widget(other, create=False) for other in before]
            anchor = next(widget for widget in anchors if widget is not None)  # the last one is always there
            self._layout.insertWidget(self._layout.indexOf(anchor), field)
            field.setVisible(False)
            field.edited.connect(self._on_part)
            self._dates[name] = field
        return field

    def _widget(self, name: str, create: bool) -> QWidget | None:
        if name in self._DATE_FIELDS:
            return self._date_field(name) if create else self._dates.get(name)
        return getattr(self, name)

    def set_value(self, window: dict[str, Any] | None) -> None:
        kind = (window or {}).get("type")
        self.kind.set_value(kind)
        self._show(kind)
        if not window:
            return
        if kind == "within":
            self.amount.set_value(window.get("amount"))
        elif kind == "between_ago":
            self.start.set_value(window.get("from"))
            self.end.set_value(window.get("to"))
        elif kind in ("before", "after", "on"):
            self.date.set_value(window.get("date"))
        elif kind == "between_dates":
            self.date_from.set_value(window.get("from"))
            self.date_to.set_value(window.get("to"))
        if kind in ("within", "between_ago"):
            self.unit.set_value(window.get("unit", "days"))

    def value(self) -> dict[str, Any] | None:
        kind = self.kind.value()
        unit = self.unit.value() or "days"
        if kind is None:
            return None
        if kind == "within":
            return {"type": "within", "amount": max(1, self.amount.number()), "unit": unit}
        if kind == "between_ago":
            return {"type": "between_ago", "from": self.start.number(), "to": self.end.number(), "unit": unit}
        if kind in ("before", "after", "on"):
            return {"type": kind, "date": self.date.iso()}
        return {"type": "between_dates", "from": self.date_from.iso(), "to": self.date_to.iso()}

    def _show(self, kind: str | None) -> None:
        shown = set(self._parts.get(kind or "", ()))
        for name in {name for parts in self._parts.values() for name in parts}:
            widget = self._widget(name, name in shown)
            if widget is not None:
                widget.setVisible(name in shown)

    def _on_kind(self, kind: str | None) -> None:
        if kind == "within" and not self.amount.number():
            self.amount.set_value(30)
        if kind == "between_ago" and not (self.start.number() or self.end.number()):
            self.start.set_value(7)
            self.end.set_value(14)
        self._show(kind)
        self.edited.emit(self.value())

    def _on_part(self, _value: Any) -> None:
        self.edited.emit(self.value())


#: The comparisons of a number, in the order offered (shown in words: "at least", "fewer than"…).
COMPARISON_OPERATORS = ["eq", "ne", "lt", "le", "gt", "ge", "between"]


#: What a count compared starts at when an operator is first chosen ("fewer than 3 times", "at least 2
#: times"): never "fewer than 0", which no user matches.
COUNT_DEFAULTS: dict[str, Any] = {"eq": 1, "ne": 1, "lt": 3, "le": 2, "gt": 1, "ge": 2, "between": [1, 3]}


class ComparisonField(QWidget):
    """A number compared: "at least 2", "between 2 and 10"; optionally "any" (no comparison); with `count`,
    a number of things ("fewer than 3").

    With `defaults` (operator → value), choosing an operator after "any" starts at its default, and
    "fewer than" never starts at 0.
    """

    edited = Signal(object)
    merges = True

    def __init__(self, *, none_label: str | None = None, whole: bool = True, accessible_name: str = "",
                 tooltip: str = "", defaults: dict[str, Any] | None = None, count: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._defaults = defaults or {}
        self._shown_operator: str | None = None
        words = COUNT_WORDS if count else OPERATOR_WORDS  # "fewer than 3 times", "less than 100.00"
        choices = ([(None, none_label)] if none_label else []) + [(op, words[op]) for op in COMPARISON_OPERATORS]
        self.operator = ChoiceField(choices, accessible_name=accessible_name or "Comparison", tooltip=tooltip)
        self.low = NumberField(whole=whole, minimum=0 if whole else -1e12, accessible_name="Value")
        self.high = NumberField(whole=whole, minimum=0 if whole else -1e12, accessible_name="Upper value")
        self.and_label = QLabel("and")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        for widget in (self.operator, self.low, self.and_label, self.high):
            layout.addWidget(widget)
        layout.addStretch(1)
        self.operator.edited.connect(self._on_operator)
        self.low.edited.connect(self._on_part)
        self.high.edited.connect(self._on_part)
        self._show(None)

    def set_value(self, comparison: dict[str, Any] | None) -> None:
        operator = (comparison or {}).get("operator")
        self.operator.set_value(operator)
        value = (comparison or {}).get("value")
        if isinstance(value, list) and len(value) == 2:
            self.low.set_value(value[0])
            self.high.set_value(value[1])
        elif value is not None:
            self.low.set_value(value)
        self._show(operator)
        self._shown_operator = operator

    def value(self) -> dict[str, Any] | None:
        operator = self.operator.value()
        if operator is None:
            return None
        if operator == "between":
            return {"operator": "between", "value": [self.low.number(), self.high.number()]}
        return {"operator": operator, "value": self.low.number()}

    def _show(self, operator: str | None) -> None:
        self.low.setVisible(operator is not None)
        self.and_label.setVisible(operator == "between")
        self.high.setVisible(operator == "between")

    def _on_operator(self, operator: str | None) -> None:
        default = self._defaults.get(operator or "")
        if default is not None and (self._shown_operator is None or (operator == "lt" and self.low.number() <= 0)):
            low, high = default if isinstance(default, list) else (default, None)
            self.low.set_value(low)
            if high is not None:
                self.high.set_value(high)
        if operator == "between" and self.high.number() < self.low.number():
            self.high.set_value(self.low.number() + 1)
        self._show(operator)
        self._shown_operator = operator
        self.edited.emit(self.value())

    def _on_part(self, _value: Any) -> None:
        self.edited.emit(self.value())


# -- an operator and its value, by attribute type --------------------------------------------------

STRING_OPERATORS = ["contains", "not_contains", "equals", "not_equals", "matches", "in", "not_in"]
NUMBER_OPERATORS = ["eq", "ne", "lt", "le", "gt", "ge", "between"]
DATE_OPERATORS = ["within", "between_ago", "before", "after", "on", "between_dates"]
BOOLEAN_OPERATORS = ["is_true", "is_false"]
LIST_OPERATORS = ["list_contains", "list_not_contains", "list_contains_any", "list_contains_all", "list_size"]
PRESENCE = ["exists", "not_exists"]

OPERATORS = {
    "string": STRING_OPERATORS + PRESENCE,
    "number": NUMBER_OPERATORS + PRESENCE,
    "date": DATE_OPERATORS + PRESENCE,
    "boolean": BOOLEAN_OPERATORS + PRESENCE,
    "list": LIST_OPERATORS + PRESENCE,
    # device versions compare part by part; the value stays text ("17.4.1")
    "version": STRING_OPERATORS + NUMBER_OPERATORS + PRESENCE,
    "first_seen": DATE_OPERATORS,
    "place": ["equals", "not_equals", "in", "not_in"],
    "identity": PRESENCE + ["contains", "not_contains", "equals", "not_equals", "matches"],
    "attribution": PRESENCE + STRING_OPERATORS,
}

OPERATOR_LABELS = {**OPERATOR_WORDS, "between_dates": "between dates", "matches": "matches pattern",
                   "list_contains": "contains", "list_size": "has a size", "within": "in the last"}

_TEXT_LIKE = {"contains", "not_contains", "equals", "not_equals", "matches", "list_contains", "list_not_contains"}
_LISTS = {"in", "not_in", "list_contains_any", "list_contains_all"}


def default_value(kind: str, operator: str, old: Any) -> Any:
    """The value an operator starts with, keeping what the old value had where it fits."""
    if operator in PRESENCE or operator in BOOLEAN_OPERATORS:
        return None
    if operator in _TEXT_LIKE or (kind == "version" and operator in NUMBER_OPERATORS):
        if isinstance(old, list):
            return str(old[0]) if old else ""
        return old if isinstance(old, str) else ("" if old is None or isinstance(old, dict) else str(old))
    if operator in _LISTS:
        if isinstance(old, list):
            return [str(v) for v in old]
        return [old] if isinstance(old, str) and old else []
    if operator == "between":
        base = old if isinstance(old, (int, float)) and not isinstance(old, bool) else 0
        return list(old) if isinstance(old, list) and len(old) == 2 and all(isinstance(v, (int, float)) for v in old) \
            else [base, base + 10]
    if operator in NUMBER_OPERATORS:
        if isinstance(old, (int, float)) and not isinstance(old, bool):
            return old
        try:
            return float(old) if "." in str(old) else int(old)
        except (TypeError, ValueError):
            return 0
    if operator in ("before", "after", "on"):
        return old if isinstance(old, str) and len(old) == 10 else today()
    if operator == "between_dates":
        return old if isinstance(old, list) and len(old) == 2 else [today(), today()]
    if operator == "within":
        return old if isinstance(old, dict) and "amount" in old else {"amount": 30, "unit": "days"}
    if operator == "between_ago":
        return old if isinstance(old, dict) and "from" in old else {"from": 7, "to": 14, "unit": "days"}
    if operator == "list_size":
        return old if isinstance(old, dict) and "operator" in old else {"operator": "ge", "value": 1}
    return old


class ConditionField(QWidget):
    """An operator fitting a type, and the value the operator needs: emits {"operator", "value"}."""

    edited = Signal(object)
    merges = False

    def __init__(self, kind: str, *, suggest: Suggest | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self._suggest = suggest
        self.operator = ChoiceField(accessible_name="Operator", tooltip="How the value is compared")
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        self._layout.addWidget(self.operator)
        self._value_widget: QWidget | None = None
        self._value_operator: str | None = None
        self._current: dict[str, Any] = {}
        self._layout.addStretch(1)
        self.set_kind(kind)
        self.operator.edited.connect(self._on_operator)

    def set_kind(self, kind: str) -> None:
        self.kind = kind
        self.operator.set_choices([(op, OPERATOR_LABELS.get(op, op)) for op in OPERATORS.get(kind, OPERATORS["string"])])

    def set_value(self, operator: str | None, value: Any) -> None:
        self._current = {"operator": operator, "value": value}
        self.operator.set_value(operator)
        if self.operator.findData(operator) < 0 and operator:
            # an operator the type does not list (the type changed): show it, the engine says what is wrong
            self.operator.addItem(OPERATOR_LABELS.get(operator, operator), operator)
            self.operator.set_value(operator)
        if operator != self._value_operator:
            self._build(operator)
        self._fill(value)

    def _build(self, operator: str | None) -> None:
        if self._value_widget is not None:
            self._layout.removeWidget(self._value_widget)
            self._value_widget.deleteLater()
        self._value_widget = self._make(operator)
        self._value_operator = operator
        if self._value_widget is not None:
            self._layout.insertWidget(1, self._value_widget)
            self._value_widget.edited.connect(self._on_value)

    def _make(self, operator: str | None) -> QWidget | None:
        if operator is None or operator in PRESENCE or operator in BOOLEAN_OPERATORS:
            return None
        text_version = self.kind == "version" and operator in NUMBER_OPERATORS and operator != "between"
        if operator in _TEXT_LIKE or text_version:
            hint = "pattern: * any text, ? one character" if operator == "matches" else "value"
            return TextField(placeholder=hint, accessible_name="Value", suggest=self._suggest,
                             tooltip="Matching ignores case" if self.kind != "number" else "")
        if operator in _LISTS:
            return ListField(placeholder="values, separated by commas", accessible_name="Values", suggest=self._suggest,
                             tooltip="Several values, separated by commas; matching ignores case")
        if operator == "between" and self.kind == "version":
            return _VersionRange()
        if operator == "between":
            return _NumberRange()
        if operator in NUMBER_OPERATORS:
            return NumberField(accessible_name="Value")
        if operator in ("before", "after", "on"):
            return DateField()
        if operator == "between_dates":
            return _DateRange()
        if operator in ("within", "between_ago"):
            return _Recency(operator)
        if operator == "list_size":
            return _ListSize()
        return TextField(accessible_name="Value")

    def _fill(self, value: Any) -> None:
        if self._value_widget is not None:
            self._value_widget.set_value(value)

    def value(self) -> dict[str, Any]:
        return dict(self._current)

    def _on_operator(self, operator: str) -> None:
        value = default_value(self.kind, operator, self._current.get("value"))
        self.set_value(operator, value)
        self.edited.emit({"operator": operator, "value": value})

    def _on_value(self, value: Any) -> None:
        self._current["value"] = value
        self.edited.emit({"operator": self._current.get("operator"), "value": value})


class _Pair(QWidget):
    edited = Signal(object)

    def __init__(self, first: QWidget, second: QWidget) -> None:
        super().__init__()
        self.first, self.second = first, second
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(first)
        layout.addWidget(QLabel("and"))
        layout.addWidget(second)
        first.edited.connect(self._on_part)
        second.edited.connect(self._on_part)

    def set_value(self, value: Any) -> None:
        if isinstance(value, list) and len(value) == 2:
            self.first.set_value(value[0])
            self.second.set_value(value[1])

    def _on_part(self, _value: Any) -> None:
        self.edited.emit(self.value())

    def value(self) -> list:
        raise NotImplementedError


class _NumberRange(_Pair):
    def __init__(self) -> None:
        super().__init__(NumberField(accessible_name="Lowest"), NumberField(accessible_name="Highest"))

    def value(self) -> list:
        return [self.first.number(), self.second.number()]


class _VersionRange(_Pair):
    def __init__(self) -> None:
        super().__init__(TextField(placeholder="e.g. 16.0", accessible_name="Lowest version"),
                         TextField(placeholder="e.g. 17.4", accessible_name="Highest version"))

    def value(self) -> list:
        return [self.first.text(), self.second.text()]


class _DateRange(_Pair):
    def __init__(self) -> None:
        super().__init__(DateField(accessible_name="First day"), DateField(accessible_name="Last day"))

    def value(self) -> list:
        return [self.first.iso(), self.second.iso()]


class _Recency(QWidget):
    """{"amount", "unit"} for "in the last", {"from", "to", "unit"} for "between … ago"."""

    edited = Signal(object)

    def __init__(self, operator: str) -> None:
        super().__init__()
        self._operator = operator
        self.amount = whole_number(minimum=0 if operator == "between_ago" else 1, accessible_name="How many")
        self.until = whole_number(minimum=0, accessible_name="To")
        self.unit = ChoiceField(UNITS, accessible_name="Unit")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.amount)
        if operator == "between_ago":
            layout.addWidget(QLabel("and"))
            layout.addWidget(self.until)
        layout.addWidget(self.unit)
        if operator == "between_ago":
            layout.addWidget(QLabel("ago"))
        for field in (self.amount, self.until, self.unit):
            field.edited.connect(lambda _v: self.edited.emit(self.value()))

    def set_value(self, value: Any) -> None:
        value = value if isinstance(value, dict) else {}
        if self._operator == "between_ago":
            self.amount.set_value(value.get("from", 7))
            self.until.set_value(value.get("to", 14))
        else:
            self.amount.set_value(value.get("amount", 30))
        self.unit.set_value(value.get("unit", "days"))

    def value(self) -> dict[str, Any]:
        unit = self.unit.value() or "days"
        if self._operator == "between_ago":
            return {"from": self.amount.number(), "to": self.until.number(), "unit": unit}
        return {"amount": max(1, self.amount.number()), "unit": unit}


class _ListSize(ComparisonField):
    def __init__(self) -> None:
        super().__init__(accessible_name="List size", count=True)
