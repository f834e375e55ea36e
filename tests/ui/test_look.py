"""The designed look (issue 23, Build): the navigation and the criteria palette show icons of one maintained icon
set (Material Design Icons through qtawesome), drawn in the palette's text colour, so they read on light and
dark themes and follow a switch between them."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from app.builder import criteria_types
from app.ui.editor.palette import KEY_ROLE, CriteriaPalette, entry_icon_name
from app.ui.kit.icons import icon_names, themed_icon
from app.ui.panes import PANE_ICONS, PANES

LIGHT_TEXT, DARK_TEXT = QColor("#f0f0f0"), QColor("#1a1a1a")


def palette_with_text(colour: QColor) -> QPalette:
    palette = QPalette(QApplication.palette())
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        palette.setColor(group, QPalette.ColorRole.WindowText, colour)
    return palette


def ink(icon: QIcon, mode: QIcon.Mode = QIcon.Mode.Normal) -> QColor:
    """The colour of the icon's most opaque pixel (its glyph), drawn at 32 px."""
    image = icon.pixmap(QSize(32, 32), mode).toImage()
    best = max(((image.pixelColor(x, y)) for x in range(image.width()) for y in range(image.height())),
               key=lambda c: c.alpha())
    assert best.alpha() > 200, "the icon draws nothing"
    return best


def close(a: QColor, b: QColor) -> bool:
    return max(abs(a.red() - b.red()), abs(a.green() - b.green()), abs(a.blue() - b.blue())) <= 8


def test_every_pane_and_every_palette_entry_has_an_icon_of_the_set(qapp):
    known = icon_names()
    panes = {pane.key for pane in PANES}
    assert panes <= PANE_ICONS.keys()
    assert set(PANE_ICONS.values()) <= known
    entries = [(entry.key, section) for section, listed in criteria_types.sections() for entry in listed]
    assert {entry_icon_name(key, section) for key, section in entries} <= known


def test_an_icon_takes_the_text_colour_of_the_palette_it_is_drawn_for(qapp):
    for text in (LIGHT_TEXT, DARK_TEXT):
        icon = themed_icon("account-group", palette_with_text(text))
        assert close(ink(icon), text)
    selected = palette_with_text(DARK_TEXT)
    selected.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    assert close(ink(themed_icon("account-group", selected), QIcon.Mode.Selected), QColor("#ffffff"))


def test_an_unknown_icon_name_is_an_empty_icon_not_an_error(qapp):
    assert themed_icon("no-such-icon-anywhere").isNull()


def test_the_navigation_shows_the_icons_and_redraws_them_for_a_dark_palette(qtbot, open_window, retail_home):
    window = open_window(retail_home)
    window.setPalette(palette_with_text(DARK_TEXT))
    first = window.navigation.item(0).icon()
    assert close(ink(first), DARK_TEXT)

    window.setPalette(palette_with_text(LIGHT_TEXT))  # the OS switched to dark: light text
    QApplication.sendPostedEvents(None, QEvent.Type.PaletteChange)

    for row in range(window.navigation.count()):
        assert close(ink(window.navigation.item(row).icon()), LIGHT_TEXT), window.pane_list[row].title


def test_the_palettes_entries_show_their_icons_and_follow_the_palette(qtbot):
    palette = CriteriaPalette()
    qtbot.addWidget(palette)
    model = palette.model
    entries = [model.item(row).child(c) for row in range(model.rowCount()) for c in range(model.item(row).rowCount())]
    assert entries and all(not item.icon().isNull() for item in entries)
    cart = next(item for item in entries if item.data(KEY_ROLE) == "cart_abandonment")

    palette.setPalette(palette_with_text(LIGHT_TEXT))

    assert close(ink(cart.icon()), LIGHT_TEXT)


def test_a_long_name_is_cut_with_an_ellipsis_and_whole_in_its_tooltip(qtbot):
    from PySide6.QtWidgets import QHBoxLayout, QWidget

    from app.ui.kit.elided_label import ElidedLabel

    holder = QWidget()
    qtbot.addWidget(holder)
    label = ElidedLabel("Users who added to cart in the last 7 days and bought nothing since", tooltip_when_cut=True)
    QHBoxLayout(holder).addWidget(label)
    holder.resize(2000, 40)
    holder.show()
    qtbot.waitExposed(holder)
    assert label.text() == label.full_text and label.toolTip() == ""
    assert label.minimumSizeHint().width() < label.sizeHint().width()

    holder.resize(140, 40)
    qtbot.waitUntil(lambda: label.width() < 140)

    assert label.text().endswith("…") and label.full_text.startswith(label.text()[:-1])
    assert label.fontMetrics().horizontalAdvance(label.text()) <= label.contentsRect().width()
    assert label.toolTip() == label.full_text


def test_the_shown_panes_title_heads_it_larger_than_its_text_and_follows_a_larger_font(qtbot, open_window,
                                                                                        retail_home):
    from PySide6.QtGui import QFont

    window = open_window(retail_home)
    assert window.pane_title.text() == window.pane_list[0].title
    window.navigation.setCurrentRow(2)
    assert window.pane_title.text() == window.pane_list[2].title
    body = window.font().pointSizeF()
    assert window.pane_title.font().bold() and window.pane_title.font().pointSizeF() >= 1.4 * body

    larger = QFont(window.font())
    larger.setPointSizeF(body * 1.5)
    window.setFont(larger)

    assert window.pane_title.font().pointSizeF() >= 1.4 * larger.pointSizeF()
