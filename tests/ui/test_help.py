"""The Help menu: the user guide (docs/ in a window, with its contents) and the keyboard-shortcut sheet read from
the window's real actions (issue 23, Build)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QAction, QKeySequence, QTextDocument

from app.ui.help.guide import PAGES, PICTURE_WIDTH, UserGuide, docs_dir, guide_pages
from app.ui.help.shortcuts import BUILDER, ShortcutSheet, shortcuts_of
from tests.ui.conftest import LOAD_TIMEOUT_MS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def keys(action: QAction) -> str:
    return ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())


def test_the_help_menu_offers_the_guide_on_f1_the_shortcuts_on_ctrl_slash_and_about(open_window, retail_home):
    window = open_window(retail_home)
    help_menu = window.menuBar().actions()[-1].menu()
    texts = [action.text() for action in help_menu.actions() if not action.isSeparator()]
    assert texts[:2] == ["&User Guide", "&Keyboard Shortcuts"]
    assert "&About Audience Studio…" in texts
    assert window.guide_action.shortcut() == QKeySequence("F1")
    assert window.shortcuts_action.shortcut() == QKeySequence("Ctrl+/")


def test_the_sheet_lists_every_action_of_the_window_that_has_keys(qtbot, open_window, retail_home):
    window = open_window(retail_home)
    expected = {(action.text().replace("&", ""), keys(action)) for action in window.findChildren(QAction)
                if keys(action) and action.text()}
    assert ("Quit", QKeySequence("Ctrl+Q").toString(QKeySequence.SequenceFormat.NativeText)) in expected

    window.shortcuts_action.trigger()
    sheet = window.shortcut_sheet
    qtbot.waitExposed(sheet)
    assert expected <= set(sheet.shown_rows())
    quit_row = next(s for s in sheet.shortcuts if s.action == "Quit")
    assert quit_row.where == "File"  # under the menu that holds it
    sheet.close()


def test_an_action_added_later_is_on_the_next_sheet(open_window, retail_home):
    # Generated from the real actions: nothing to keep in step by hand.
    window = open_window(retail_home)
    before = shortcuts_of(window)
    action = QAction("&Count again", window)
    action.setShortcut(QKeySequence("Ctrl+Shift+K"))
    window.menuBar().actions()[0].menu().addAction(action)

    after = shortcuts_of(window)

    added = [s for s in after if s not in before]
    assert [(s.where, s.action) for s in added] == [("File", "Count again")]


def test_the_sheets_filter_keeps_the_rows_that_match(qtbot, open_window, retail_home):
    window = open_window(retail_home)
    sheet = ShortcutSheet(window)
    qtbot.addWidget(sheet)
    sheet.filter.setText("quit")
    assert [action for action, _keys in sheet.shown_rows()] == ["Quit"]
    sheet.filter.setText("")
    assert len(sheet.shown_rows()) == len(sheet.shortcuts)


def test_with_an_audience_open_the_sheet_lists_a_cards_keys(qtbot, open_window, home_dir):
    from tests.ui.editor_homes import GOLD, document, fill_home

    ids = fill_home(home_dir, audiences={"Gold": document(GOLD)})
    window = open_window(home_dir)
    assert not any(s.where == BUILDER for s in shortcuts_of(window))
    editor = window.pane("audiences").editors.open_audience(ids["Gold"])
    editor.ask = lambda _editor: "discard"
    qtbot.waitUntil(editor.is_loaded, timeout=LOAD_TIMEOUT_MS)

    builder = {s.action: s.keys for s in shortcuts_of(window) if s.where == BUILDER}

    native = QKeySequence.SequenceFormat.NativeText
    assert builder["Move up"] == QKeySequence("Ctrl+Up").toString(native)
    assert builder["Exclude"] == QKeySequence("Ctrl+E").toString(native)


def test_every_page_of_the_guide_is_in_docs_and_has_a_title():
    assert docs_dir() == DOCS
    assert [page.path.name for page in guide_pages()] == list(PAGES)  # none renamed away under the guide
    for page in guide_pages():
        first_heading = next(line for line in page.path.read_text().splitlines() if line.startswith("# "))
        assert page.title == first_heading[2:].strip()


def test_the_guide_opens_on_f1_with_its_contents_and_renders_a_page_with_its_pictures(qtbot, open_window,
                                                                                       retail_home):
    window = open_window(retail_home)
    window.guide_action.trigger()
    guide = window.guide
    qtbot.waitExposed(guide)
    assert guide.contents.topLevelItemCount() == len(PAGES)
    assert guide.page == "builder.md"
    assert "The audience builder" in guide.browser.toPlainText()
    picture = guide.browser.document().resource(QTextDocument.ResourceType.ImageResource, QUrl("images/builder.png"))
    assert picture is not None and not picture.isNull()  # the screenshot beside the text, found in docs/images
    assert picture.width() <= PICTURE_WIDTH  # a 1280-px screenshot, scaled down: the page never scrolls sideways
    assert guide.browser.horizontalScrollBar().maximum() == 0

    window.guide_action.trigger()
    assert window.guide is guide  # one guide window, raised again


def test_choosing_a_section_in_the_contents_scrolls_the_page_to_it(qtbot, tmp_path):
    (tmp_path / "builder.md").write_text("# Builder\n\nIntro.\n\n" + "Filler line.\n\n" * 200
                                         + "## Far below\n\nHere.\n", encoding="utf-8")
    (tmp_path / "outputs.md").write_text("# Outputs\n\nSee [the builder](builder.md#far-below).\n", encoding="utf-8")
    guide = UserGuide(folder=tmp_path)
    qtbot.addWidget(guide)
    guide.show()
    qtbot.waitExposed(guide)
    assert [p.path.name for p in guide.pages] == ["builder.md", "outputs.md"]
    assert guide.browser.verticalScrollBar().value() == 0

    section = guide.contents.topLevelItem(0).child(0)
    assert section.text(0) == "Far below"
    guide.contents.setCurrentItem(section)
    assert guide.browser.verticalScrollBar().value() > 0

    guide.show_page("outputs.md")
    assert guide.page == "outputs.md"
    guide._on_link(QUrl("builder.md#far-below"))  # a link to another page's section, as in docs/
    assert guide.page == "builder.md"
    assert guide.browser.verticalScrollBar().value() > 0
    assert guide.contents.currentItem() is section


def test_a_guide_without_its_pages_says_so(qtbot, tmp_path):
    guide = UserGuide(folder=tmp_path)
    qtbot.addWidget(guide)
    guide.show()
    assert guide.pages == []
    assert guide.contents.topLevelItemCount() == 0
    assert guide.missing.isVisible() and "reinstall" in guide.missing.text()
