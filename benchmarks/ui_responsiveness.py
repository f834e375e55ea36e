"""Does the desktop app stay responsive? Start-up time and the event loop's longest stall while editing an audience.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/ui_responsiveness.py --home /work/bench/h2m [--json]

Opens the real MainWindow on a copy of the home's store (the audience it edits is created there,
never in the home) and on the home's cache opened READ-ONLY (nothing can be written to it). Then:

- start-up: seconds from process start (the kernel's start time of this process, so Python's and
  Qt's imports count) to the main window painted with the event loop running ("interactive"), and
  to the audiences listed;
- editing: a scripted sequence in the builder — add criteria, change values, bursts of quick edits
  80 ms apart (typing), a group, match all/any, exclude, undo and redo — while a 5 ms QTimer records
  the event loop's turns. A gap between two turns is time the GUI thread could not react. Prints the
  longest gap, percentiles, and how many gaps exceeded 50 ms (the target is none: ≤ 50 ms), and
  for each long gap the GUI thread's own CPU time in it (time.thread_time): the app's work, as
  opposed to waiting for a core or for the GIL while other threads or processes ran.

The audience list sizes every audience in the background after it is shown, as it does for a user,
so the editing runs beside that work. Figures: docs/performance.md, "Desktop app".
"""

from __future__ import annotations

import time

SCRIPT_STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.models.store.db import open_store  # noqa: E402
from app.engines.home import OpenHome  # noqa: E402
from app.paths import Home  # noqa: E402

TICK_MS = 5
STALL_TARGET_MS = 50
QUICK_EDIT_MS = 80
AUDIENCE = "Responsiveness benchmark"


def seconds_since_process_start() -> float:
    """Age of this process: from /proc on Linux (so interpreter start-up counts), else since this script began."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        started = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - started
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - SCRIPT_STARTED


def machine() -> dict:
    info = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    try:
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
        info["cpu"] = model
    except (OSError, StopIteration):
        pass
    return info


def read_only_home(source: Path) -> Home:
    """A scratch home: a copy of the store, and the source's cache file linked (opened read-only below)."""
    target = Path(tempfile.mkdtemp(prefix="audience-studio-bench-"))
    shutil.copy2(source / "store.sqlite3", target / "store.sqlite3")
    (target / "cache.duckdb").symlink_to((source / "cache.duckdb").resolve())
    return Home(target)


def open_read_only(home: Home) -> OpenHome:
    # Imported here, on the pool thread that opens the home, as the app does: DuckDB's and Arrow's
    # imports are not part of the window's start-up.
    from app.connectors.cache import Cache

    return OpenHome(home, open_store(home.store_path), Cache(home.cache_path, read_only=True), "benchmark")


class GapRecorder:
    """Counts the event loop's turns with a 5 ms timer; the gaps between ticks are what the user would feel."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        #: CPU time of the GUI thread at each tick: a long gap with little CPU in it was the thread
        #: waiting (for a core, or for the GIL), not the app working on it
        self.cpu: list[float] = []
        #: what the script was doing (set by the script), and the long gaps seen during each step
        self.step = "opening the editor"
        self.long_gaps: list[tuple[str, float]] = []
        self.timer = QTimer(interval=TICK_MS)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        if self.ticks and (now - self.ticks[-1]) * 1000 > STALL_TARGET_MS:
            self.long_gaps.append((self.step, round((now - self.ticks[-1]) * 1000, 1),
                                   round((cpu - self.cpu[-1]) * 1000, 1)))
        self.ticks.append(now)
        self.cpu.append(cpu)

    def start(self) -> None:
        self.ticks = [time.perf_counter()]
        self.cpu = [time.thread_time()]
        self.long_gaps = []
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        self.ticks.append(time.perf_counter())
        self.cpu.append(time.thread_time())
        return [(b - a) * 1000 for a, b in zip(self.ticks, self.ticks[1:])]

    def cpu_per_gap(self) -> list[float]:
        """The GUI thread's own CPU time (ms) in each gap."""
        return [(b - a) * 1000 for a, b in zip(self.cpu, self.cpu[1:])]


def wait(app: QApplication, condition, timeout_s: float = 120.0) -> None:
    """Run the event loop until `condition()` (never a busy wait on the GUI thread)."""
    if condition():
        return
    loop = QEventLoop()
    poll = QTimer(interval=10)
    poll.timeout.connect(lambda: condition() and loop.quit())
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    poll.start()
    loop.exec()
    poll.stop()
    if not condition():
        raise SystemExit("timed out waiting for the app")


def pause(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def editing_sequence(app: QApplication, editor, recorder: GapRecorder) -> dict:
    """The scripted edits; returns how long the estimates took to show (edit → exact total)."""
    idle = lambda: not editor.live.is_busy() and not editor.tasks.is_busy()  # noqa: E731
    latencies: list[float] = []
    asked: dict[str, float] = {}
    editor.live.requested.connect(lambda _generation: asked.setdefault("at", time.perf_counter()))

    def on_total(_estimate) -> None:
        if "at" in asked:
            latencies.append((time.perf_counter() - asked.pop("at")) * 1000)

    editor.live.total_shown.connect(on_total)
    steps = 0

    def settle() -> None:
        wait(app, idle)
        asked.pop("at", None)  # an estimate that never showed (a problem, a cancel) is not a latency

    def quick(*edits, name: str = "") -> None:
        nonlocal steps
        recorder.step = name or getattr(edits[0], "__name__", "edit")
        for edit in edits:
            edit()
            steps += 1
            pause(QUICK_EDIT_MS)
        settle()

    def one(edit, name: str) -> None:
        quick(edit, name=name)

    def add(key: str, parent: str, index: int) -> str:
        recorder.step = f"add {key}"
        node = editor.add_criterion(key, parent, index)
        settle()
        return node

    window = lambda days: {"window": {"type": "within", "amount": days, "unit": "days"}}  # noqa: E731
    sessions = add("session_start", "root", 0)
    one(lambda: editor.edit_node(sessions, {"frequency": {"operator": "ge", "value": 3}}, ""), "edit frequency")
    purchase = add("purchase", "root", 1)
    quick(*[lambda d=d: editor.edit_node(sessions, window(d), f"{sessions}.window") for d in (29, 28, 27, 26, 25)],
          name="5 quick window edits")
    group = add("group", "root", 2)
    place = add("location", group, 0)
    one(lambda: editor.edit_node(place, {"field": "country", "operator": "equals", "value": "US"}, ""), "edit place")
    device = add("device", group, 1)
    one(lambda: editor.edit_node(device, {"field": "platform", "operator": "equals", "value": "iOS"}, ""),
        "edit device")
    one(lambda: editor.set_match(group, "any"), "match any")
    one(lambda: editor.edit_node(purchase, {"exclude": True}, ""), "exclude")
    quick(*[lambda d=d: editor.edit_node(purchase, window(d), f"{purchase}.window") for d in (20, 14, 10, 7)],
          name="4 quick window edits")
    quick(*([editor.undo_stack.undo] * 4), name="4 undos")
    quick(*([editor.undo_stack.redo] * 4), name="4 redos")
    one(lambda: editor.set_match("root", "any"), "root any")
    one(lambda: editor.set_match("root", "all"), "root all")
    return {"edits": steps, "estimate_ms": latencies}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="a home with a demo workspace (never written to)")
    parser.add_argument("--workspace", default="Harbor & Pine US", help="the workspace the edited audience reads")
    parser.add_argument("--no-sizing", action="store_true",
                        help="turn off sizing the audience list in the background (the Preferences option)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("Audience Studio Benchmark")
    app.setApplicationName("Audience Studio")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    settings_dir = tempfile.mkdtemp(prefix="audience-studio-bench-settings-")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)

    from app.ui import settings

    settings.save_preferences(size_automatically=not args.no_sizing, estimate_delay=settings.DEFAULT_ESTIMATE_DELAY_MS)
    from app.ui.home import HomeConnection
    from app.ui.main_window import MainWindow
    from app.ui.workers import Tasks

    home = read_only_home(args.home)

    class ReadOnlyConnection(HomeConnection):
        """The app's own connection, with the cache opened read-only so the benchmark cannot change it."""

        def start(self) -> None:
            self.tasks.run(lambda: open_read_only(self.home), label="Opening the home",
                           on_success=self._on_opened, on_failure=self._on_open_failed)

    started_at = seconds_since_process_start()
    tasks = Tasks()
    connection = ReadOnlyConnection(home, tasks)
    window = MainWindow(connection, tasks)
    listed: dict[str, float] = {}
    window.audiences.loaded.connect(lambda _n: listed.setdefault("at", seconds_since_process_start()))
    window.show()
    connection.start()
    interactive: dict[str, float] = {}
    # The first turn of the event loop after show(): the window is painted and takes input.
    QTimer.singleShot(0, lambda: interactive.setdefault("at", seconds_since_process_start()))
    wait(app, lambda: "at" in interactive and "at" in listed)

    recorder = GapRecorder()
    recorder.start()
    open_home = connection.open_home
    workspace = open_home.workspaces.get(args.workspace)
    # The audience to edit, created in the COPY of the store (a worker would do this in the app; here
    # it is set-up, outside the measured editing).
    audience = open_home.audiences.create(f"{AUDIENCE} {os.getpid()}", workspace_ids=[workspace.id])
    opening = recorder.stop()
    wait(app, lambda: any(a.id == audience.id for a in window.audiences.model.audiences()))

    recorder.start()
    editor = window.editors.open_audience(audience.id)
    editor.ask = lambda _editor: "discard"
    wait(app, editor.is_loaded)
    sequence = editing_sequence(app, editor, recorder)
    gaps = recorder.stop()
    gap_cpu = recorder.cpu_per_gap()
    sizing_still_running = window.audiences.sizing.is_running()

    result = {
        "home": str(args.home),
        "sizing_in_background": not args.no_sizing,
        "machine": machine(),
        "startup_s": {"process_start_to_interactive_window": round(interactive["at"], 3),
                      "process_start_to_audiences_listed": round(listed["at"], 3),
                      "window_created_at": round(started_at, 3)},
        "editing": {
            "edits": sequence["edits"],
            "duration_s": round(sum(gaps) / 1000, 2),
            "longest_stall_ms": round(max(gaps), 1),
            "p50_gap_ms": round(percentile(gaps, 0.50), 1),
            "p95_gap_ms": round(percentile(gaps, 0.95), 1),
            "p99_gap_ms": round(percentile(gaps, 0.99), 1),
            "gaps_over_50_ms": sum(1 for gap in gaps if gap > STALL_TARGET_MS),
            # the most CPU the GUI thread spent between two turns: the app's own longest piece of work
            "longest_gui_cpu_ms": round(max(gap_cpu), 1),
            "ticks": len(gaps),
            "estimate_total_ms_median": round(statistics.median(sequence["estimate_ms"]), 1)
            if sequence["estimate_ms"] else None,
            "estimate_total_ms_max": round(max(sequence["estimate_ms"]), 1) if sequence["estimate_ms"] else None,
            "sizing_ran_alongside": sizing_still_running or None,
            "long_gaps": recorder.long_gaps,
        },
        "setup_stall_ms": round(max(opening), 1) if opening else None,
    }
    editor.shutdown()
    window.close()
    connection.close()
    shutil.rmtree(home.root, ignore_errors=True)
    shutil.rmtree(settings_dir, ignore_errors=True)

    if args.json:
        print(json.dumps(result, indent=2))
    else:
        startup, editing = result["startup_s"], result["editing"]
        print(f"home {result['home']}  machine {result['machine']}  "
              f"sizing in the background: {'yes' if result['sizing_in_background'] else 'no'}")
        print(f"start-up: interactive window {startup['process_start_to_interactive_window']:.2f} s after process "
              f"start (target ≤ 2 s); audiences listed at {startup['process_start_to_audiences_listed']:.2f} s")
        print(f"editing: {editing['edits']} edits in {editing['duration_s']} s; event-loop gaps: longest "
              f"{editing['longest_stall_ms']} ms (target ≤ {STALL_TARGET_MS} ms), p50 {editing['p50_gap_ms']} ms, "
              f"p95 {editing['p95_gap_ms']} ms, p99 {editing['p99_gap_ms']} ms, "
              f"{editing['gaps_over_50_ms']} over {STALL_TARGET_MS} ms of {editing['ticks']}")
        print(f"the GUI thread's own CPU time between two turns: at most {editing['longest_gui_cpu_ms']} ms "
              "(the rest of a longer gap it waited for a core or the GIL)")
        print(f"estimates (edit → exact total): median {editing['estimate_total_ms_median']} ms, "
              f"max {editing['estimate_total_ms_max']} ms")
        if editing["long_gaps"]:
            print("gaps over 50 ms, by step (of which the GUI thread's CPU): "
                  + "; ".join(f"{step} {gap} ms ({cpu})" for step, gap, cpu in editing["long_gaps"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
