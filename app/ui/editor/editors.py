"""The editor inside each criterion card, one kind per criteria type, built from app.ui.editor.fields.

An editor shows a node (`set_node`) and reports each change the user makes as `edited(changes,
merge_key)`: the fields to set (None removes one) and, for typing and spinning, a key so that
consecutive changes of the same field merge into one undo step.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QMenu, QToolButton, QVBoxLayout, QWidget

from app.builder import criteria_types
from app.builder.catalog import ATTRIBUTE_TYPES
from app.builder.editing import EVENT_TYPES, PRODUCT_ACTIONS
from app.ui.editor.fields import (
    COUNT_DEFAULTS,
    CityField,
    OPERATORS,
    UNITS,
    ChoiceField,
    ComparisonField,
    ConditionField,
    NumberField,
    TextField,
    WindowField,
    default_value,
    whole_number,
)
from app.ui.editor.services import EditorServices
from app.ui.kit.menu_button import MenuToolButton

TYPE_WORDS = {"string": "text", "number": "number", "date": "date", "boolean": "yes/no", "list": "list"}


class CriterionEditor(QWidget):
    """Base: a compact form; subclasses add rows and fill them in `refresh`."""

    #: fires when the user changes a field: (fields to set, merge key or "")
    edited = Signal(dict, str)

    def __init__(self, node: dict[str, Any], services: EditorServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.node = node
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setHorizontalSpacing(10)
        self.form.setVerticalSpacing(6)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self.build()
        self.set_node(node)

    def build(self) -> None:
        raise NotImplementedError

    def refresh(self) -> None:
        raise NotImplementedError

    def set_node(self, node: dict[str, Any]) -> None:
        self.node = node
        self.refresh()

    def bind(self, field: QWidget, key: str, convert=lambda value: value) -> None:
        """Report the field's edits as a change of `key`."""
        field.edited.connect(lambda value: self.edited.emit({key: convert(value)}, key if field.merges else ""))

    def row(self, label: str, *widgets: QWidget) -> QWidget:
        holder = QWidget()
        layout = QHBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        for widget in widgets:
            layout.addWidget(widget)
        layout.addStretch(1)
        self.form.addRow(label, holder)
        return holder

    def set_row_visible(self, holder: QWidget, visible: bool) -> None:
        self.form.setRowVisible(holder, visible)

    def workspace_field(self) -> ChoiceField | None:
        """For multi-workspace audiences: which workspace's profile the criterion reads."""
        workspaces = self.services.context.workspaces
        if len(workspaces) < 2:
            return None
        field = ChoiceField([(None, "Any workspace")] + [(ws.id, ws.name) for ws in workspaces],
                            accessible_name="Workspace", tooltip="The workspace whose profiles this criterion reads")
        self.bind(field, "workspace_id")
        self.row("Workspace", field)
        return field


# -- events ----------------------------------------------------------------------------------------


class _ConditionRow(QWidget):
    """One condition on an event attribute: attribute, operator, value, remove."""

    changed = Signal(object)  # the condition, or None when removed

    def __init__(self, editor: EventEditor) -> None:
        super().__init__()
        self.editor = editor
        self.attribute = ChoiceField(editable=True, accessible_name="Event attribute",
                                     tooltip="An attribute of the events; the detected type is shown beside it")
        self.condition = ConditionField("string", suggest=self._suggest)
        self.remove = QToolButton(text="✕", autoRaise=True)
        self.remove.setAccessibleName("Remove condition")
        self.remove.setToolTip("Remove this condition")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.attribute)
        layout.addWidget(self.condition)
        layout.addWidget(self.remove)
        layout.addStretch(1)
        self._value: dict[str, Any] = {}
        self.attribute.edited.connect(self._on_attribute)
        self.condition.edited.connect(self._on_condition)
        self.remove.clicked.connect(lambda: self.changed.emit(None))

    def set_condition(self, condition: dict[str, Any], known: dict[str, str]) -> None:
        self._value = dict(condition)
        self._known = known
        self.attribute.set_choices([(name, f"{name} ({TYPE_WORDS.get(kind, kind)})") for name, kind in known.items()])
        self.attribute.set_value(condition.get("attribute"))
        self.condition.set_kind(self._kind(condition.get("attribute")))
        self.condition.set_value(condition.get("operator"), condition.get("value"))

    def _suggest(self, prefix: str, show) -> None:
        """The most common values of this attribute in the card's events (read off the GUI thread)."""
        node = self.editor.node
        name = f"{node.get('event_type', 'custom_event')}/{node.get('event_name') or ''}/{self._value.get('attribute', '')}"
        self.editor.services.suggester("event_attribute", name)(prefix, show)

    def _kind(self, attribute: str | None) -> str:
        if attribute == "revenue":
            return "number"
        return self._known.get(attribute or "", "string")

    def _on_attribute(self, attribute: str | None) -> None:
        if not attribute:
            return
        kind = self._kind(attribute)
        operator = self._value.get("operator")
        if operator not in OPERATORS.get(kind, ()):
            operator = OPERATORS.get(kind, ["equals"])[0]
        value = default_value(kind, operator, self._value.get("value"))
        self.changed.emit(_condition(attribute, operator, value))

    def _on_condition(self, change: dict[str, Any]) -> None:
        self.changed.emit(_condition(self._value.get("attribute") or "", change["operator"], change.get("value")))


def _condition(attribute: str, operator: str, value: Any) -> dict[str, Any]:
    condition = {"attribute": attribute, "operator": operator}
    if value is not None:
        condition["value"] = value
    return condition


class EventEditor(CriterionEditor):
    """Event type and name (or product action), conditions on its attributes, how often, total, when."""

    def build(self) -> None:
        self.event_type = ChoiceField(list(EVENT_TYPES.items()), accessible_name="Event type",
                                      tooltip="The kind of event the users had")
        self.event_name = ChoiceField(editable=True, accessible_name="Event name",
                                      tooltip="Only events with this name; leave “any name” for all of them")
        self.event_name.lineEdit().setPlaceholderText("any name")
        self.product_action = ChoiceField(list(PRODUCT_ACTIONS.items()), editable=True, accessible_name="Product action",
                                          tooltip="The ecommerce action: add to cart, purchase…")
        self.row("Event", self.event_type, self.event_name, self.product_action)
        self.event_type.edited.connect(self._on_event_type)
        self.event_name.edited.connect(lambda name: self.edited.emit({"event_name": name or None}, ""))
        self.bind(self.product_action, "product_action", lambda action: action or None)

        self.conditions_box = QWidget()
        self.conditions_layout = QVBoxLayout(self.conditions_box)
        self.conditions_layout.setContentsMargins(0, 0, 0, 0)
        self.conditions_layout.setSpacing(4)
        self.add_condition = QToolButton(text="+ Add condition", autoRaise=True)
        self.add_condition.setToolTip("Only count events whose attribute matches a condition")
        self.add_condition.setAccessibleName("Add condition")
        self.add_condition.clicked.connect(self._on_add_condition)
        self.conditions_layout.addWidget(self.add_condition, 0, Qt.AlignmentFlag.AlignLeft)
        self.form.addRow("Where", self.conditions_box)
        self._condition_rows: list[_ConditionRow] = []

        self.frequency = ComparisonField(none_label="at least once", accessible_name="How often",
                                         tooltip="How many matching events; fewer than N includes users with none",
                                         defaults=COUNT_DEFAULTS, count=True)
        self.bind(self.frequency, "frequency")
        self.frequency_row = self.row("How often", self.frequency)

        self.aggregate_function = ChoiceField([(None, "any amount"), ("sum", "total"), ("avg", "average"),
                                               ("min", "lowest"), ("max", "highest")], accessible_name="Amount",
                                              tooltip="Compare the total, average, lowest or highest value of an attribute")
        self.aggregate_attribute = ChoiceField(editable=True, accessible_name="Aggregated attribute")
        self.aggregate = ComparisonField(whole=False, accessible_name="Aggregate comparison")
        self.aggregate_row = self.row("Amount", self.aggregate_function, QLabel("of"), self.aggregate_attribute,
                                      self.aggregate)
        self.aggregate_function.edited.connect(self._on_aggregate)
        self.aggregate_attribute.edited.connect(self._on_aggregate)
        self.aggregate.edited.connect(self._on_aggregate)

        self.window = WindowField()
        self.bind(self.window, "window")
        self.row("When", self.window)

    def refresh(self) -> None:
        node = self.node
        event_type = node.get("event_type", "custom_event")
        commerce = event_type == "commerce_event"
        self.event_type.set_value(event_type)
        stored_type, fixed = ("custom_event", "attribution") if event_type == "attribution" else (event_type, None)
        names = [n for n in self.services.event_names(stored_type) if n != "attribution" or stored_type != "custom_event"]
        self.event_name.set_choices([(None, "any name")] + [(n, n) for n in names])
        self.event_name.set_value(node.get("event_name"))
        self.event_name.setVisible(fixed is None and not commerce)
        self.product_action.setVisible(commerce)
        self.product_action.set_value(node.get("product_action"))
        known = self.services.event_attributes(stored_type, node.get("event_name") or fixed)
        if commerce:
            known = {"revenue": "number", **known}
        conditions = node.get("conditions", [])
        while len(self._condition_rows) > len(conditions):
            row = self._condition_rows.pop()
            row.deleteLater()
        while len(self._condition_rows) < len(conditions):
            row = _ConditionRow(self)
            index = len(self._condition_rows)
            row.changed.connect(lambda condition, i=index: self._on_condition(i, condition))
            self.conditions_layout.insertWidget(index, row)
            self._condition_rows.append(row)
        for row, condition in zip(self._condition_rows, conditions):
            row.set_condition(condition, known)
        self.frequency.set_value(node.get("frequency"))
        aggregate = node.get("aggregate") or {}
        numeric = {n: k for n, k in known.items() if k == "number"}
        self.aggregate_attribute.set_choices([(n, n) for n in numeric])
        self.aggregate_function.set_value(aggregate.get("function"))
        self.aggregate_attribute.set_value(aggregate.get("attribute"))
        self.aggregate.set_value(aggregate or None)
        has_aggregate = bool(aggregate)
        self.aggregate_attribute.setVisible(has_aggregate)
        self.aggregate.setVisible(has_aggregate)
        self.aggregate_row.layout().itemAt(1).widget().setVisible(has_aggregate)
        self.set_row_visible(self.aggregate_row, commerce or has_aggregate)
        self.window.set_value(node.get("window"))

    def _on_event_type(self, event_type: str) -> None:
        changes: dict[str, Any] = {"event_type": event_type, "event_name": None, "conditions": None}
        if event_type == "commerce_event":
            changes["product_action"] = self.node.get("product_action") or "purchase"
        else:
            changes["product_action"] = None
            changes["aggregate"] = None
        self.edited.emit(changes, "")

    def _on_add_condition(self) -> None:
        event_type = self.node.get("event_type", "custom_event")
        stored = "custom_event" if event_type == "attribution" else event_type
        known = self.services.event_attributes(stored, self.node.get("event_name"))
        if event_type == "commerce_event":
            known = {"revenue": "number", **known}
        attribute, kind = next(iter(known.items()), ("revenue" if event_type == "commerce_event" else "attribute", "string"))
        operator = {"number": "gt", "boolean": "is_true", "date": "within"}.get(kind, "equals")
        condition = _condition(attribute, operator, default_value(kind, operator, None))
        self.edited.emit({"conditions": list(self.node.get("conditions", [])) + [condition]}, "")

    def _on_condition(self, index: int, condition: dict[str, Any] | None) -> None:
        conditions = list(self.node.get("conditions", []))
        if index >= len(conditions):
            return
        if condition is None:
            del conditions[index]
        else:
            conditions[index] = condition
        merge = "" if condition is None else f"conditions[{index}]"
        self.edited.emit({"conditions": conditions or None}, merge)

    def _on_aggregate(self, _value: Any) -> None:
        function = self.aggregate_function.value()
        if function is None:
            self.edited.emit({"aggregate": None}, "")
            return
        comparison = self.aggregate.value() or {"operator": "gt", "value": 0}
        attribute = self.aggregate_attribute.value() or "revenue"
        self.edited.emit({"aggregate": {"function": function, "attribute": attribute, **comparison}}, "aggregate")


# -- profile criteria ------------------------------------------------------------------------------


class UserAttributeEditor(CriterionEditor):
    """An attribute (with its detected type, which can be changed) and a condition fitting the type."""

    def build(self) -> None:
        self.workspace = self.workspace_field()
        self.attribute = ChoiceField(editable=True, accessible_name="Attribute",
                                     tooltip="A user attribute of the audience's workspaces")
        self.type_button = MenuToolButton()
        self.type_button.setAccessibleName("Attribute type")
        self.type_button.setToolTip("The type detected in the data. Choose another to treat the attribute's "
                                    "values differently in this workspace.")
        menu = QMenu(self.type_button)
        for kind in ATTRIBUTE_TYPES:
            action = QAction(f"Treat as {TYPE_WORDS[kind]}", menu)
            action.triggered.connect(lambda _checked=False, k=kind: self._on_type_chosen(k))
            menu.addAction(action)
        self._type_menu = menu
        self.type_button.setMenu(menu)
        self.row("Attribute", self.attribute, self.type_button)
        self.condition = ConditionField("string", suggest=lambda prefix, show: self.services.suggester(
            "user_attribute", self.node.get("attribute"))(prefix, show))
        self.form.addRow("Condition", self.condition)
        self.attribute.edited.connect(self._on_attribute)
        self.condition.edited.connect(lambda change: self.edited.emit(*_condition_change(self.node, change)))
        self.services.catalog_changed.connect(self.refresh)

    def _type_of(self, attribute: str) -> str | None:
        if self.node.get("calculated"):
            found = self.services.calculated_attribute(attribute, self.node.get("workspace_id"))
            return found[1].value_type if found else None
        return self.services.attribute_type(attribute, self.node.get("workspace_id"))

    def _kind(self) -> str | None:
        return self._type_of(self.node.get("attribute", ""))

    def refresh(self) -> None:
        node = self.node
        calculated = bool(node.get("calculated"))
        if self.workspace is not None:
            self.workspace.set_value(node.get("workspace_id"))
        names = self.services.calculated_names() if calculated else self.services.attribute_names()
        self.attribute.set_choices([(name, name) for name in names])
        self.attribute.set_value(node.get("attribute"))
        kind = self._kind()
        self.type_button.setText(TYPE_WORDS.get(kind or "", "unknown type"))
        # A calculated attribute's type comes from its calculation; only detected types can be overridden.
        self.type_button.setPopupMode(QToolButton.ToolButtonPopupMode.DelayedPopup if calculated
                                      else QToolButton.ToolButtonPopupMode.InstantPopup)
        self.type_button.setMenu(None if calculated else self._type_menu)
        found = self.services.calculated_attribute(node.get("attribute", "")) if calculated else None
        self.attribute.setToolTip(f"Calculated: {found[1].describe()}" if found else
                                  "A calculated attribute of the workspace" if calculated
                                  else "A user attribute of the audience's workspaces")
        self.condition.set_kind(kind or "string")
        self.condition.set_value(node.get("operator"), node.get("value"))

    def _on_attribute(self, attribute: str | None) -> None:
        if not attribute:
            return
        kind = self._type_of(attribute) or "string"
        operator = self.node.get("operator")
        if operator not in OPERATORS[kind]:
            operator = OPERATORS[kind][0]
        self.edited.emit({"attribute": attribute, "operator": operator,
                          "value": default_value(kind, operator, self.node.get("value"))}, "")

    def _on_type_chosen(self, kind: str) -> None:
        attribute = self.node.get("attribute")
        if attribute:
            self.services.change_attribute_type(attribute, kind)


def _operator_change(change: dict[str, Any]) -> dict[str, Any]:
    return {"operator": change["operator"], "value": change.get("value")}


def _condition_change(node: dict[str, Any], change: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The change, and "value" as merge key while only the value is typed (the operator unchanged)."""
    return _operator_change(change), ("value" if change.get("operator") == node.get("operator") else "")


class _OperatorEditor(CriterionEditor):
    """A field choice (device field, location field, …) then an operator and its value."""

    KIND = "string"
    LABEL = "Condition"

    def add_condition_row(self) -> None:
        self.condition = ConditionField(self.KIND, suggest=self.suggest())
        self.form.addRow(self.LABEL, self.condition)
        self.condition.edited.connect(self._on_condition)

    def suggest(self):
        return None

    def _on_condition(self, change: dict[str, Any]) -> None:
        self.edited.emit(*_condition_change(self.node, change))


DEVICE_FIELDS = [("platform", "Platform"), ("os", "OS"), ("os_version", "OS version"), ("device_model", "Device model"),
                 ("manufacturer", "Manufacturer"), ("carrier", "Carrier"), ("app_version", "App version"),
                 ("build", "Build")]


class DeviceEditor(_OperatorEditor):
    def build(self) -> None:
        self.workspace = self.workspace_field()
        self.field = ChoiceField(DEVICE_FIELDS, accessible_name="Device field")
        self.field.edited.connect(lambda value: self.edited.emit({"field": value}, ""))
        self.row("Device", self.field)
        self.add_condition_row()

    def suggest(self):
        return lambda prefix, show: self.services.suggester("device", self.node.get("field"))(prefix, show)

    def refresh(self) -> None:
        if self.workspace is not None:
            self.workspace.set_value(self.node.get("workspace_id"))
        self.field.set_value(self.node.get("field"))
        self.condition.set_kind("version" if self.node.get("field") in ("os_version", "app_version") else "string")
        self.condition.set_value(self.node.get("operator"), self.node.get("value"))
        self.condition.setToolTip("Versions compare part by part: 9.3 < 10.1 < 17.4.1"
                                  if self.node.get("field") in ("os_version", "app_version") else "")


class FirstSeenEditor(_OperatorEditor):
    KIND = "first_seen"
    LABEL = "First seen"

    def build(self) -> None:
        self.workspace = self.workspace_field()
        self.add_condition_row()

    def refresh(self) -> None:
        if self.workspace is not None:
            self.workspace.set_value(self.node.get("workspace_id"))
        self.condition.set_value(self.node.get("operator"), self.node.get("value"))


LOCATION_FIELDS = [("country", "Country"), ("state", "State"), ("city", "City"), ("zip", "Zip code"), ("dma", "DMA")]


class LocationEditor(_OperatorEditor):
    KIND = "place"
    LABEL = "Is"

    def build(self) -> None:
        self.workspace = self.workspace_field()
        self.mode = ChoiceField([("place", "In a place"), ("within", "Near a point")], accessible_name="Location kind")
        self.mode.edited.connect(self._on_mode)
        self.field = ChoiceField(LOCATION_FIELDS, accessible_name="Location field")
        self.field.edited.connect(lambda value: self.edited.emit({"field": value}, ""))
        self.row("Location", self.mode, self.field)
        self.add_condition_row()
        self.latitude = NumberField(minimum=-90, maximum=90, decimals=4, accessible_name="Latitude", suffix=" °",
                                    tooltip="Latitude of the centre, −90 (south) to 90 (north)")
        self.longitude = NumberField(minimum=-180, maximum=180, decimals=4, accessible_name="Longitude", suffix=" °",
                                     tooltip="Longitude of the centre, −180 (west) to 180 (east)")
        self.radius = NumberField(minimum=0.1, maximum=20_000, decimals=1, accessible_name="Radius",
                                  tooltip="Great-circle distance from the centre")
        self.unit = ChoiceField([("km", "km"), ("mi", "miles")], accessible_name="Distance unit")
        # A city found by name fills the latitude and longitude below (the document keeps only them).
        self.city = CityField(self.services.find_cities)
        self.city.chosen.connect(self._on_city)
        self.near_row = self.row("Within", self.radius, self.unit, QLabel("of"), self.city)
        self.city_row = self.row("or at", self.latitude, self.longitude)
        self.bind(self.latitude, "latitude")
        self.bind(self.longitude, "longitude")
        self.bind(self.radius, "radius")
        self.bind(self.unit, "unit")

    def suggest(self):
        return lambda prefix, show: self.services.suggester("location", self.node.get("field") or "country")(prefix, show)

    def refresh(self) -> None:
        node = self.node
        if self.workspace is not None:
            self.workspace.set_value(node.get("workspace_id"))
        near = node.get("operator") == "within"
        self.mode.set_value("within" if near else "place")
        self.field.setVisible(not near)
        self.form.setRowVisible(self.condition, not near)
        self.set_row_visible(self.near_row, near)
        self.set_row_visible(self.city_row, near)
        if near:
            chosen = self.city.chosen_city
            if chosen is not None and (round(chosen.latitude, 4), round(chosen.longitude, 4)) != \
                    (node.get("latitude"), node.get("longitude")):
                self.city.forget()  # the coordinates were changed (typed, or undone): no longer that city
            self.latitude.set_value(node.get("latitude"))
            self.longitude.set_value(node.get("longitude"))
            self.radius.set_value(node.get("radius"))
            self.unit.set_value(node.get("unit", "km"))
        else:
            self.field.set_value(node.get("field"))
            self.condition.set_value(node.get("operator"), node.get("value"))

    def _on_city(self, city) -> None:
        self.edited.emit({"latitude": round(city.latitude, 4), "longitude": round(city.longitude, 4)}, "")

    def _on_mode(self, mode: str) -> None:
        if mode == "within":
            self.edited.emit({"operator": "within", "field": None, "value": None, "latitude": 40.7128,
                              "longitude": -74.006, "radius": 50, "unit": "km"}, "")
        else:
            self.edited.emit({"operator": "equals", "field": "country", "value": "US", "latitude": None,
                              "longitude": None, "radius": None, "unit": None}, "")


class IdentityEditor(_OperatorEditor):
    KIND = "identity"

    def build(self) -> None:
        self.workspace = self.workspace_field()
        self.identity_type = ChoiceField(editable=True, accessible_name="Identity type",
                                         tooltip="Email, customer id, advertising ids… as found in the cache")
        self.identity_type.edited.connect(lambda value: value and self.edited.emit({"identity_type": value}, ""))
        self.row("Identity", self.identity_type)
        self.add_condition_row()

    def suggest(self):
        return lambda prefix, show: self.services.suggester("identity", self.node.get("identity_type"))(prefix, show)

    def refresh(self) -> None:
        if self.workspace is not None:
            self.workspace.set_value(self.node.get("workspace_id"))
        self.identity_type.set_choices([(t, t) for t in self.services.identity_types()])
        self.identity_type.set_value(self.node.get("identity_type"))
        self.condition.set_value(self.node.get("operator"), self.node.get("value"))


class AttributionEditor(_OperatorEditor):
    KIND = "attribution"

    def build(self) -> None:
        self.workspace = self.workspace_field()
        self.kind = ChoiceField([("install", "Install"), ("uninstall", "Uninstall")], accessible_name="Attributed event")
        self.field = ChoiceField([("publisher", "publisher"), ("campaign", "campaign"),
                                  ("service_provider", "attribution provider")], accessible_name="Attribution field")
        self.bind(self.kind, "kind")
        self.bind(self.field, "field")
        self.row("Attribution", self.kind, self.field)
        self.add_condition_row()

    def suggest(self):
        return lambda prefix, show: self.services.suggester(
            "attribution", f"{self.node.get('kind', 'install')}.{self.node.get('field', 'publisher')}")(prefix, show)

    def refresh(self) -> None:
        if self.workspace is not None:
            self.workspace.set_value(self.node.get("workspace_id"))
        self.kind.set_value(self.node.get("kind"))
        self.field.set_value(self.node.get("field"))
        self.condition.set_value(self.node.get("operator"), self.node.get("value"))


class ConsentEditor(CriterionEditor):
    def build(self) -> None:
        self.workspace = self.workspace_field()
        self.regulation = ChoiceField([("gdpr", "GDPR"), ("ccpa", "CCPA")], accessible_name="Regulation")
        self.regulation.edited.connect(self._on_regulation)
        self.row("Regulation", self.regulation)
        self.consented = ChoiceField([(True, "consented to"), (False, "not consented to")], accessible_name="Consent")
        self.purpose = TextField(placeholder="purpose, e.g. marketing", accessible_name="Purpose",
                                 suggest=lambda prefix, show: self.services.suggester("consent_purpose")(prefix, show))
        self.bind(self.consented, "consented")
        self.bind(self.purpose, "purpose", lambda text: text.strip() or "marketing")
        self.gdpr_row = self.row("Users who", self.consented, self.purpose)
        self.opted_out = ChoiceField([(True, "opted out of data sale"), (False, "did not opt out of data sale")],
                                     accessible_name="CCPA opt-out")
        self.bind(self.opted_out, "opted_out")
        self.ccpa_row = self.row("Users who", self.opted_out)

    def refresh(self) -> None:
        node = self.node
        if self.workspace is not None:
            self.workspace.set_value(node.get("workspace_id"))
        ccpa = node.get("regulation") == "ccpa"
        self.regulation.set_value(node.get("regulation"))
        self.set_row_visible(self.gdpr_row, not ccpa)
        self.set_row_visible(self.ccpa_row, ccpa)
        self.consented.set_value(bool(node.get("consented", True)))
        self.purpose.set_value(node.get("purpose", ""))
        self.opted_out.set_value(bool(node.get("opted_out", False)))

    def _on_regulation(self, regulation: str) -> None:
        if regulation == "ccpa":
            self.edited.emit({"regulation": "ccpa", "opted_out": False, "purpose": None, "consented": None}, "")
        else:
            self.edited.emit({"regulation": "gdpr", "purpose": "marketing", "consented": True, "opted_out": None}, "")


class MembershipEditor(CriterionEditor):
    def build(self) -> None:
        self.member = ChoiceField([(True, "is a member of"), (False, "is not a member of")], accessible_name="Membership")
        choices = self.services.context.membership_choices
        self.audience = ChoiceField([(i, name) for i, name in choices], accessible_name="Audience",
                                    tooltip="Only audiences whose own criteria use no audience membership can be "
                                            "chosen, so audiences never depend on each other in a circle")
        self.bind(self.member, "member")
        self.bind(self.audience, "audience_id")
        self.row("User", self.member, self.audience)

    def refresh(self) -> None:
        self.member.set_value(bool(self.node.get("member", True)))
        self.audience.set_value(self.node.get("audience_id"))
        if self.audience.findData(self.node.get("audience_id")) < 0:
            self.audience.setCurrentIndex(-1)
            self.audience.setPlaceholderText("choose an audience")


class CartAbandonmentEditor(CriterionEditor):
    def build(self) -> None:
        self.window = WindowField(allow_any_time=False)
        self.bind(self.window, "window")
        self.row("Added to cart", self.window)
        self.amount = whole_number(minimum=1, accessible_name="No purchase within")
        self.unit = ChoiceField(UNITS, accessible_name="Unit")
        self.amount.edited.connect(lambda _v: self._on_wait("no_purchase_within"))
        self.unit.edited.connect(lambda _v: self._on_wait(""))
        self.row("No purchase within", self.amount, self.unit, QLabel("after it"))

    def refresh(self) -> None:
        self.window.set_value(self.node.get("window"))
        wait = self.node.get("no_purchase_within", {})
        self.amount.set_value(wait.get("amount", 24))
        self.unit.set_value(wait.get("unit", "hours"))

    def _on_wait(self, merge: str) -> None:
        self.edited.emit({"no_purchase_within": {"amount": self.amount.number(), "unit": self.unit.value()}}, merge)


#: The card editor of each criterion type (groups have their own frame on the canvas), by the type's
#: key: checked against app/builder/criteria_types.py here, so a type without one stops the app at start-up.
EDITORS: dict[str, type[CriterionEditor]] = {
    "event": EventEditor, "user_attribute": UserAttributeEditor, "device": DeviceEditor,
    "first_seen": FirstSeenEditor, "location": LocationEditor, "identity": IdentityEditor,
    "attribution": AttributionEditor, "consent": ConsentEditor, "audience_membership": MembershipEditor,
    "cart_abandonment": CartAbandonmentEditor,
}
criteria_types.check_parts("card editor", EDITORS)


def editor_for(node: dict[str, Any], services: EditorServices) -> CriterionEditor:
    return EDITORS[node["type"]](node, services)
