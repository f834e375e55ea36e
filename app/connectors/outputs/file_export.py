"""The file/bucket export: each batch written as a CSV or Parquet file into a folder (a synced bucket folder works)."""

from __future__ import annotations

import csv
import os
import re
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from app.connectors.outputs.batches import Batch, Destination, attribute_text
from app.connectors.outputs.errors import CONFIGURATION, PartnerError
from app.connectors.outputs.identities import IDENTITY_LABELS
from app.connectors.outputs.partner import Partner, PartnerContext
from app.connectors.outputs.settings import Field


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "audience"


def batch_file(folder: Path, batch: Batch, destination: Destination, file_format: str) -> Path:
    """Named by connection, sequence and batch id: a retried batch rewrites its own file, never a second one."""
    return (folder / f"{_slug(destination.audience_name)}-{destination.connection_id}"
            / f"{batch.sequence:06d}-{batch.action}-{batch.id}.{file_format}")


class FileExportClient:
    def __init__(self, context: PartnerContext):
        self._folder = Path(context.settings["folder"]).expanduser()
        self._format = context.settings.get("format", "csv")

    def prepare(self, destination: Destination) -> str | None:
        if not self._folder.is_dir():
            raise PartnerError(f"The export folder {self._folder} does not exist; create it or choose another.",
                               category=CONFIGURATION)
        return None

    def send(self, batch: Batch, destination: Destination) -> None:
        target = batch_file(self._folder, batch, destination, self._format)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # Written beside the target then renamed, so a reader never sees half a file.
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
            os.close(handle)
            try:
                self._write(Path(temporary), batch)
                os.replace(temporary, target)
            finally:
                if os.path.exists(temporary):
                    os.unlink(temporary)
        except OSError as exc:
            raise PartnerError(f"Could not write {target}: {exc.strerror or exc}.", category=CONFIGURATION) from None

    def _write(self, path: Path, batch: Batch) -> None:
        names = batch.attribute_names
        columns = {"action": [batch.action] * len(batch), "identity_type": [i.type for i in batch.identities],
                   "identity_value": [i.value for i in batch.identities]}
        # Shared user attributes follow as one text column each (lists comma-joined), so every file of a
        # connection has the same column types whatever values a batch happens to hold.
        for name in names:
            columns[attribute_column(name)] = [attribute_text((i.attributes or {}).get(name)) for i in batch.identities]
        if self._format == "parquet":
            pq.write_table(pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()}), path)
            return
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(columns)
            writer.writerows(zip(*columns.values()))


def attribute_column(name: str) -> str:
    """A shared attribute's column: its own name, unless it would clash with one of the fixed columns."""
    return f"attribute_{name}" if name in ("action", "identity_type", "identity_value") else name


PARTNER = Partner(
    key="file_export",
    name="File export",
    category="Files",
    description="Writes each batch of adds or removes as a CSV or Parquet file into a folder (a bucket synced to disk works too).",
    auth="none",
    identity_types=tuple(IDENTITY_LABELS),
    configuration_fields=(
        Field("folder", "Folder", "folder", help="An existing folder; each connection gets a subfolder."),
        Field("format", "File format", "choice", default="csv", choices=("csv", "parquet")),
    ),
    secret_fields=(),
    connection_fields=(),
    max_batch=50_000,
    make_client=FileExportClient,
    attributes_how="as extra columns after identity_value, one per attribute",
)
