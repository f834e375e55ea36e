"""What the Sync pane says about a sync under way: rows, bytes and time left, worked out from the
pages seen so far, then the workspace's revenue pages. No Qt, so the words are tested on their own."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.connectors.sync_client import PullReport, RevenueReport


@dataclass(frozen=True)
class SyncProgress:
    workspace: str
    batches: int
    batches_total: int
    rows: int
    bytes: int
    #: None until two pages have given a rate to go by
    seconds_left: float | None


@dataclass(frozen=True)
class RevenueProgress:
    """The revenue pages of a workspace, which follow its data; the server does not say how many."""

    workspace: str
    pages: int
    rows: int
    bytes: int


class ProgressClock:
    """Turns each page's report into progress with an estimate of the time left, per workspace."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._started: dict[str, tuple[float, int]] = {}

    def revenue(self, workspace: str, report: RevenueReport) -> RevenueProgress:
        return RevenueProgress(workspace, report.pages, report.rows, report.bytes)

    def update(self, workspace: str, report: PullReport) -> SyncProgress:
        now = self._clock()
        # The rate counts from the first page seen: the time before it was spent asking, not loading.
        started_at, started_batches = self._started.setdefault(workspace, (now, report.batches))
        left = None
        done = report.batches - started_batches
        if done > 0 and now > started_at and report.batches_total:
            rate = done / (now - started_at)
            left = max(0.0, (report.batches_total - report.batches) / rate)
        return SyncProgress(workspace, report.batches, report.batches_total, report.rows, report.bytes, left)


def size_words(count: int) -> str:
    """Bytes as people read them: "830 B", "12.4 KB", "3.1 MB", "1.2 GB"."""
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1000
    return f"{count} B"


def time_left_words(seconds: float | None) -> str:
    if seconds is None:
        return "working out the time left"
    if seconds < 5:
        return "a few seconds left"
    if seconds < 90:
        return f"about {round(seconds / 5) * 5:.0f} s left"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60):.0f} min left"
    return f"about {seconds / 3600:.1f} h left"


def progress_words(progress: SyncProgress) -> str:
    """ "US: 1,200 of 5,000 batches · 240,000 rows · 12.3 MB · about 40 s left" """
    of = f" of {progress.batches_total:,}" if progress.batches_total else ""
    return (f"{progress.workspace}: {progress.batches:,}{of} batches · {_count(progress.rows, 'row')} · "
            f"{size_words(progress.bytes)} · {time_left_words(progress.seconds_left)}")


def revenue_words(progress: RevenueProgress) -> str:
    """ "US: revenue, 3 pages · 120,000 rows · 4.1 MB" """
    return (f"{progress.workspace}: revenue, {_count(progress.pages, 'page')} · {_count(progress.rows, 'row')} · "
            f"{size_words(progress.bytes)}")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
