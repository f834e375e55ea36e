"""The Download dialog: identity types, variations and the output ZIP; then the download in the
background with a progress bar and Cancel, and "Show in Folder" at the end.

What it offers (the identity types of the audiences' workspaces, their saved A/B tests' variations)
is read in a worker before it opens; the download itself (app.engines.downloads) runs in a worker
and stops between chunks when Cancel is pressed, leaving no file behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths, Qt, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.connectors.outputs.identities import IDENTITY_LABELS
from app.engines.downloads import (
    DownloadCancelled,
    DownloadChoices,
    DownloadResult,
    Part,
    default_archive_name,
    download,
    read_choices,
)
from app.engines.home import OpenHome
from app.ui.home import HomeConnection
from app.ui.mnemonics import literal
from app.ui.workers import Task, Tasks, failure_message
from app.ui.kit.dialogs import keep_whole

#: The folder the last download went to, offered next time.
FOLDER_KEY = "downloads/folder"


def _names(choices: DownloadChoices) -> str:
    names = [f"“{a.name}”" for a in choices.audiences]
    if len(names) > 3:
        return f"{len(names)} audiences"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def downloads_folder() -> Path:
    """Where the ZIP goes unless the user says otherwise: the last folder used, or the user's Downloads."""
    remembered = QSettings().value(FOLDER_KEY)
    if remembered and Path(str(remembered)).is_dir():
        return Path(str(remembered))
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation)
    return Path(folder) if folder and Path(folder).is_dir() else Path.home()


def default_output(choices: DownloadChoices) -> Path:
    """A file name in the downloads folder that is not taken yet, so nothing is replaced by default."""
    folder, name = downloads_folder(), default_archive_name(choices.audiences)
    path, n = folder / name, 1
    while path.exists():
        n += 1
        path = folder / f"{Path(name).stem} ({n}).zip"
    return path


def type_label(identity_type: str) -> str:
    """How the dialog names an identity type: the outputs' label, or the cache's name made readable."""
    return IDENTITY_LABELS.get(identity_type) or identity_type.replace("_", " ").capitalize()


def _hint(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return label


class DownloadDialog(QDialog):
    """Asks what to download and where; downloads in the background with progress and Cancel."""

    #: fires when a download finished and its ZIP is in place
    downloaded = Signal(object)

    def __init__(self, home: OpenHome, tasks: Tasks, choices: DownloadChoices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._home, self._tasks, self.choices = home, tasks, choices
        self._cancelled: threading.Event | None = None
        self._task: Task | None = None
        self._close_when_stopped = False
        #: the output text the file dialog already asked about replacing
        self._replace_confirmed: str | None = None
        self.result_path: Path | None = None
        #: asks before an existing file is replaced; tests answer it themselves
        self.confirm_replace: Callable[[Path], bool] = self._ask_replace
        several = len(choices.audiences) > 1
        self.setWindowTitle("Download Audiences" if several else "Download Audience")
        self.setAccessibleName(self.windowTitle())

        intro = QLabel(f"Download {_names(choices)} as a ZIP of CSV files (one per audience or variation) with a "
                       "manifest. Each identity of a member is a row.")
        intro.setWordWrap(True)

        # -- identity types
        self.types_box = QGroupBox("Identity types")
        self.types_box.setToolTip("The identities to write; a member's identities from every workspace of the "
                                  "profile are included")
        types_layout = QGridLayout(self.types_box)
        # Two columns once there are many, so the dialog stays on a laptop screen.
        columns = 2 if len(choices.identity_types) > 5 else 1
        rows = -(-len(choices.identity_types) // columns)
        self.type_checks: dict[str, QCheckBox] = {}
        labelled = sorted(((type_label(t), t, n) for t, n in choices.identity_types.items()), key=lambda x: x[0].casefold())
        for index, (label, identity_type, count) in enumerate(labelled):
            check = QCheckBox(literal(f"{label} ({count:,})"))
            check.setAccessibleName(label)
            check.setToolTip(f"Write the members' {identity_type} identities; the cache holds {count:,} of them "
                             "in these audiences' workspaces")
            check.setChecked(True)
            check.toggled.connect(self._update)
            types_layout.addWidget(check, index % rows, index // rows)
            self.type_checks[identity_type] = check
        if not self.type_checks:
            types_layout.addWidget(_hint("The cache holds no identities for these audiences' workspaces yet: "
                                         "import or sync their data first (audience-studio import, or sync)."))

        # -- variations of the audiences with a saved A/B test
        self.whole_checks: dict[int, QCheckBox] = {}
        self.variation_checks: dict[int, dict[int, QCheckBox]] = {}
        variation_boxes = []
        for audience in choices.audiences:
            variations = choices.variations.get(audience.id)
            if not variations:
                continue
            box = QGroupBox(literal(f"Variations of “{audience.name}”"))
            box.setToolTip("The audience has a saved A/B test: a CSV per variation chosen")
            layout = QVBoxLayout(box)
            whole = QCheckBox("Whole audience (one file)")
            whole.setAccessibleName(f"Whole audience {audience.name}")
            whole.setToolTip("Every member of the audience in one CSV, whatever their variation")
            whole.toggled.connect(self._update)
            layout.addWidget(whole)
            self.whole_checks[audience.id] = whole
            checks = {}
            for variation in variations:
                check = QCheckBox(literal(f"{variation.name} ({variation.percent} %)"))
                check.setAccessibleName(f"Variation {variation.name}")
                check.setToolTip(f"The members in {variation.name}: a CSV named "
                                 f"“{audience.effective_external_name} - {variation.name}”")
                check.setChecked(True)
                check.toggled.connect(self._update)
                layout.addWidget(check)
                checks[variation.id] = check
            self.variation_checks[audience.id] = checks
            variation_boxes.append(box)

        # -- where
        self.output = QLineEdit(str(default_output(choices)))
        self.output.setAccessibleName("Output file")
        self.output.setToolTip("The ZIP file to write; an existing file is replaced only once the download is complete")
        self.output.textChanged.connect(self._update)
        self.choose_button = QPushButton("Choose…")
        self.choose_button.setAccessibleName("Choose output file")
        self.choose_button.setToolTip("Choose where to save the ZIP")
        self.choose_button.clicked.connect(self._on_choose)
        output_row = QHBoxLayout()
        output_row.addWidget(self.output, 1)
        output_row.addWidget(self.choose_button)
        output_label = QLabel("Save &as:")
        output_label.setBuddy(self.output)

        # -- while it runs, and after
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Download progress")
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.status = QLabel()
        self.status.setAccessibleName("Download status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem = _hint()
        self.problem.setAccessibleName("Why downloading is not possible")

        self.buttons = QDialogButtonBox()
        self.download_button = self.buttons.addButton("Download", QDialogButtonBox.ButtonRole.AcceptRole)
        self.download_button.setToolTip("Write the ZIP in the background")
        self.download_button.setDefault(True)
        self.show_button = self.buttons.addButton("Show in Folder", QDialogButtonBox.ButtonRole.ActionRole)
        self.show_button.setToolTip("Open the folder that holds the ZIP")
        self.show_button.hide()
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setToolTip("Close without downloading, or stop the download (nothing is written)")
        self.download_button.clicked.connect(self.start)
        self.show_button.clicked.connect(self._on_show_in_folder)
        self.cancel_button.clicked.connect(self.reject)

        self.form = QWidget()
        form_layout = QVBoxLayout(self.form)
        form_layout.setContentsMargins(0, 0, 0, 0)
        form_layout.addWidget(intro)
        form_layout.addWidget(self.types_box)
        for box in variation_boxes:
            form_layout.addWidget(box)
        form_layout.addWidget(output_label)
        form_layout.addLayout(output_row)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(self.problem)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        keep_whole(self, 560)
        self._update()

    # -- what the user chose -----------------------------------------------------------------------

    def chosen_types(self) -> list[str]:
        return [t for t, check in self.type_checks.items() if check.isChecked()]

    def chosen_parts(self) -> list[Part]:
        parts = []
        for audience in self.choices.audiences:
            variations = self.choices.variations.get(audience.id)
            if not variations:
                parts.append(Part(audience))
                continue
            if self.whole_checks[audience.id].isChecked():
                parts.append(Part(audience))
            checks = self.variation_checks[audience.id]
            parts.extend(Part(audience, v) for v in variations if checks[v.id].isChecked())
        return parts

    def output_path(self) -> Path:
        return Path(self.output.text().strip()).expanduser()

    def _why_not(self) -> str:
        if not self.type_checks:
            return "There is nothing to download yet."
        if not self.chosen_types():
            return "Choose at least one identity type."
        for audience in self.choices.audiences:
            checks = self.variation_checks.get(audience.id)
            if checks is not None and not self.whole_checks[audience.id].isChecked() \
                    and not any(c.isChecked() for c in checks.values()):
                return f"Choose a variation of “{audience.name}”, or the whole audience."
        text = self.output.text().strip()
        if not text:
            return "Choose where to save the ZIP."
        if not text.lower().endswith(".zip"):
            return "The file name must end in .zip."
        return ""

    def _update(self) -> None:
        problem = self._why_not() if self._task is None else ""
        self.problem.setText(problem)
        # With no identity types at all, the empty types box already says why.
        self.problem.setVisible(bool(problem) and bool(self.type_checks))
        self.download_button.setEnabled(not problem and self._task is None)

    # -- handlers ----------------------------------------------------------------------------------

    def _on_choose(self) -> None:
        chosen, _ = QFileDialog.getSaveFileName(self, "Save the Download As", self.output.text(), "ZIP files (*.zip)")
        if chosen:
            if not chosen.lower().endswith(".zip"):
                chosen += ".zip"
            self.output.setText(chosen)
            self._replace_confirmed = chosen  # the file dialog already asked before replacing

    def _ask_replace(self, path: Path) -> bool:
        answer = QMessageBox.question(self, "Replace the File?", f"{path.name} already exists in {path.parent}. "
                                      "Replace it once the download is complete?",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def start(self) -> None:
        """Start the download in the background (the Download button)."""
        if self._task is not None or self._why_not():
            return
        out = self.output_path()
        if out.exists() and self._replace_confirmed != self.output.text() \
                and not self.confirm_replace(out):
            return
        home, parts, types = self._home, self.chosen_parts(), self.chosen_types()
        cancelled = self._cancelled = threading.Event()
        self.form.setEnabled(False)
        self.show_button.hide()
        self.progress.setRange(0, 0)
        self.progress.show()
        self.status.setText("Counting the rows…")
        self.cancel_button.setToolTip("Stop the download; nothing is written")

        def work(report: Callable[[int, int], None]) -> DownloadResult:
            return download(home, parts, out, identity_types=types, progress=report, cancelled=cancelled)

        self._task = self._tasks.run_reporting(work, label="Downloading", on_success=self._on_done,
                                               on_failure=self._on_failed)
        self._task.progressed.connect(self._on_progress)
        self._update()

    def _on_progress(self, done: int, total: int) -> None:
        # Rows can pass 2**31; the bar shows thousandths instead.
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * done / total) if total else 1000)
        self.status.setText(f"Writing {done:,} of {total:,} rows…")

    def _stopped(self) -> None:
        self._task = None
        self._cancelled = None
        self.form.setEnabled(True)
        self.progress.hide()
        self.cancel_button.setEnabled(True)
        self._update()

    def _close_if_asked(self) -> None:
        if self._close_when_stopped:
            super().reject()

    def _on_done(self, result: DownloadResult) -> None:
        self._stopped()
        self.result_path = result.path
        QSettings().setValue(FOLDER_KEY, str(result.path.parent))
        files = len(result.manifest["files"])
        self.status.setText(f"Downloaded {result.total_rows:,} rows in {files} CSV file{'s' if files != 1 else ''} "
                            f"to {result.path}.")
        self.download_button.hide()
        self.show_button.show()
        self.cancel_button.setText("Done")
        self.cancel_button.setToolTip("Close this dialog")
        self.cancel_button.setDefault(True)
        self.form.setEnabled(False)
        self.downloaded.emit(result)
        self._close_if_asked()

    def _on_failed(self, exc: BaseException) -> None:
        self._stopped()
        if isinstance(exc, DownloadCancelled):
            self.status.setText("The download was cancelled; no file was written.")
        else:
            self.status.setText(failure_message(exc, "The download"))
        self._close_if_asked()

    def _on_show_in_folder(self) -> None:
        if self.result_path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.result_path.parent)))

    def is_running(self) -> bool:
        return self._task is not None

    def reject(self) -> None:
        """Cancel (or Escape, or closing the window): stops a running download first; closes once it stopped."""
        if self._cancelled is not None:
            self._cancelled.set()
            self._close_when_stopped = True
            self.status.setText("Cancelling…")
            self.cancel_button.setEnabled(False)
            return
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._cancelled is not None:
            self.reject()
            event.ignore()
            return
        super().closeEvent(event)


def open_download_dialog(connection: HomeConnection, tasks: Tasks, audience_ids: Sequence[int], parent: QWidget,
                         opened: Callable[[DownloadDialog], None] | None = None) -> bool:
    """Read what can be downloaded for the audiences in the background, then show the dialog; False when
    there is nothing to act on."""
    home = connection.open_home
    ids = list(dict.fromkeys(audience_ids))
    if home is None or not ids:
        return False

    def show(choices: DownloadChoices) -> None:
        dialog = DownloadDialog(home, tasks, choices, parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if opened is not None:
            opened(dialog)
        dialog.open()

    def failed(exc: BaseException) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Download Audience", failure_message(exc, "Preparing the download"),
                          QMessageBox.StandardButton.Ok, parent)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    tasks.run(lambda: read_choices(home, ids), label="Preparing the download", on_success=show, on_failure=failed)
    return True
