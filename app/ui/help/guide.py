"""The user guide (Help ▸ User Guide, F1): the pages of docs/ rendered in a window, with a contents list of the
pages and their sections. The pages travel with the app (the installer bundles docs/ beside resources/), so
the guide in the app is the guide in the repository, never a second copy to keep in step.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QByteArray, QUrl, Qt
from PySide6.QtGui import QDesktopServices, QImage, QTextDocument
from PySide6.QtWidgets import (
    QLabel,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

#: The guide's pages in reading order (file names in docs/); the developers' pages (architecture,
#: performance) stay out.
PAGES = (
    "builder.md", "membership.md", "insights.md", "ab_tests.md", "standard_audiences.md", "outputs.md",
    "downloads.md", "marketplace.md", "revenue.md", "installers.md", "server.md", "criteria.md",
)
#: The contents item's data: (page file, section heading or "")
TARGET_ROLE = Qt.ItemDataRole.UserRole + 1


def docs_dir() -> Path | None:
    """docs/ of the bundle when frozen (PyInstaller unpacks beside the program), else of the checkout."""
    bundle = getattr(sys, "_MEIPASS", None)
    candidates = [Path(bundle) / "docs"] if bundle else []
    candidates.append(Path(__file__).resolve().parents[3] / "docs")
    return next((path for path in candidates if path.is_dir()), None)


@dataclass(frozen=True)
class Page:
    """One page of the guide: its file, its title (the first heading) and its sections (the ## headings)."""

    path: Path
    title: str
    sections: tuple[str, ...]


def read_page(path: Path) -> Page:
    """The page's title and sections, from its Markdown headings (code blocks skipped: '# ' in a shell line is
    a comment, not a heading)."""
    title, sections, in_code = path.stem.replace("_", " ").capitalize(), [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("# ") and not sections:
            title = line[2:].strip()
        elif not in_code and line.startswith("## "):
            sections.append(line[3:].strip())
    return Page(path, title, tuple(sections))


def guide_pages(folder: Path | None = None) -> list[Page]:
    """The guide's pages found in `folder` (docs/), in PAGES order; a missing page is left out."""
    folder = folder if folder is not None else docs_dir()
    if folder is None:
        return []
    return [read_page(folder / name) for name in PAGES if (folder / name).is_file()]


#: Pictures wider than this are shown scaled down to it, so a screenshot never needs sideways scrolling.
PICTURE_WIDTH = 720


class _GuideBrowser(QTextBrowser):
    """A text browser that shows the pages' pictures (screenshots of 1280 px) at most PICTURE_WIDTH wide."""

    def loadResource(self, kind: int, url: QUrl):  # noqa: N802 (Qt's name)
        loaded = super().loadResource(kind, url)
        if kind == QTextDocument.ResourceType.ImageResource and isinstance(loaded, (bytes, QByteArray)):
            image = QImage.fromData(loaded)
            if not image.isNull() and image.width() > PICTURE_WIDTH:
                return image.scaledToWidth(PICTURE_WIDTH, Qt.TransformationMode.SmoothTransformation)
        if kind == QTextDocument.ResourceType.ImageResource and isinstance(loaded, QImage) \
                and loaded.width() > PICTURE_WIDTH:
            return loaded.scaledToWidth(PICTURE_WIDTH, Qt.TransformationMode.SmoothTransformation)
        return loaded


class UserGuide(QWidget):
    """A window with the contents on the left and the chosen page on the right."""

    def __init__(self, parent: QWidget | None = None, *, folder: Path | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Audience Studio User Guide")
        self.pages = guide_pages(folder)

        self.contents = QTreeWidget()
        self.contents.setHeaderHidden(True)
        self.contents.setAccessibleName("Contents")
        self.contents.setUniformRowHeights(True)
        for page in self.pages:
            item = QTreeWidgetItem(self.contents, [page.title])
            item.setData(0, TARGET_ROLE, (page.path.name, ""))
            item.setToolTip(0, page.title)
            for section in page.sections:
                child = QTreeWidgetItem(item, [section])
                child.setData(0, TARGET_ROLE, (page.path.name, section))
                child.setToolTip(0, section)
        self.contents.currentItemChanged.connect(self._on_item)

        self.browser = _GuideBrowser()
        self.browser.setAccessibleName("Guide page")
        # Links are followed here: another page of the guide opens in the window, the web in the browser.
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._on_link)
        self.browser.document().setDocumentMargin(16)

        splitter = QSplitter()
        splitter.addWidget(self.contents)
        splitter.addWidget(self.browser)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 740])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        #: says why the guide is empty (its pages are missing beside the app)
        self.missing = QLabel("The guide's pages were not found beside the app (its docs folder); reinstall "
                              "Audience Studio to get them back.")
        self.missing.setWordWrap(True)
        self.missing.setContentsMargins(12, 12, 12, 12)
        self.missing.setVisible(not self.pages)
        layout.addWidget(self.missing)
        layout.addWidget(splitter, 1)
        self.resize(1080, 700)
        if self.pages:
            self.contents.setCurrentItem(self.contents.topLevelItem(0))

    @property
    def page(self) -> str:
        """The file name of the page shown ("" before one is)."""
        return Path(self.browser.source().toLocalFile()).name if not self.browser.source().isEmpty() else ""

    def show_page(self, name: str, section: str = "") -> None:
        """Show docs/`name`, at its heading `section` when given (else at the top)."""
        page = next((p for p in self.pages if p.path.name == name), None)
        if page is None:
            return
        if self.page != name:
            self.browser.setSource(QUrl.fromLocalFile(str(page.path)), QTextDocument.ResourceType.MarkdownResource)
        self._scroll_to(section)
        self._select(name, section)

    def _scroll_to(self, section: str) -> None:
        bar = self.browser.verticalScrollBar()
        if not section:
            bar.setValue(0)
            return
        document = self.browser.document()
        block = document.begin()
        while block.isValid():
            if block.blockFormat().headingLevel() and block.text().strip() == section:
                bar.setValue(int(document.documentLayout().blockBoundingRect(block).top()))
                return
            block = block.next()

    def _select(self, name: str, section: str) -> None:
        for row in range(self.contents.topLevelItemCount()):
            top = self.contents.topLevelItem(row)
            candidates = [top, *(top.child(i) for i in range(top.childCount()))]
            for item in candidates:
                if item.data(0, TARGET_ROLE) == (name, section) and self.contents.currentItem() is not item:
                    self.contents.blockSignals(True)
                    self.contents.setCurrentItem(item)
                    self.contents.blockSignals(False)
                    return

    def _on_item(self, item: QTreeWidgetItem | None, _previous) -> None:
        if item is not None:
            self.show_page(*item.data(0, TARGET_ROLE))

    def _on_link(self, url: QUrl) -> None:
        if url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)
            return
        resolved = self.browser.source().resolved(url) if url.isRelative() else url
        name = Path(resolved.toLocalFile()).name
        if any(page.path.name == name for page in self.pages):
            self.show_page(name, _heading_of(url.fragment(), self._page_sections(name)))
        elif url.hasFragment() and not url.path():
            self._scroll_to(_heading_of(url.fragment(), self._page_sections(self.page)))

    def _page_sections(self, name: str) -> tuple[str, ...]:
        return next((p.sections for p in self.pages if p.path.name == name), ())


def _heading_of(fragment: str, sections: tuple[str, ...]) -> str:
    """The section a GitHub-style anchor ("#edit-history") names, or "" (the page's top)."""
    def anchor(heading: str) -> str:
        return "".join(c for c in heading.lower().replace(" ", "-") if c.isalnum() or c in "-_")

    return next((section for section in sections if anchor(section) == fragment.lower()), "")
