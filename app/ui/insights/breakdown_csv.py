"""A breakdown written as CSV (no Qt; run by a worker): one row per value shown, written to FILE.partial
and renamed at the end, so a failure leaves no half file."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from app.engines.insights.breakdown import Breakdown
from app.errors import InvalidInput


def write_breakdown(result: Breakdown, path: Path) -> int:
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        with open(partial, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["value", "members", "share_of_audience", "profiles_in_workspace", "share_of_workspace", "index"])
            for r in result.rows:
                writer.writerow([r.value, r.audience, f"{r.audience_share:.6f}", r.workspace, f"{r.workspace_share:.6f}",
                                 "" if r.index is None else r.index])
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"{path}: cannot be written ({exc.strerror or exc})") from None
    return len(result.rows)
