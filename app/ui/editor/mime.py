"""What the builder drags: a criteria type from the palette, or a node of the canvas, as MIME data."""

from __future__ import annotations

import json

from PySide6.QtCore import QMimeData

#: A palette entry being dragged; the payload is JSON {"key": palette key}.
CRITERION_MIME = "application/x-audience-studio-criterion"
#: A criterion or group of the canvas being dragged; the payload is JSON {"node_id": id}.
NODE_MIME = "application/x-audience-studio-node"


def criterion_mime(key: str) -> QMimeData:
    mime = QMimeData()
    mime.setData(CRITERION_MIME, json.dumps({"key": key}).encode())
    return mime


def node_mime(node_id: str) -> QMimeData:
    mime = QMimeData()
    mime.setData(NODE_MIME, json.dumps({"node_id": node_id}).encode())
    return mime


def _payload(mime: QMimeData, kind: str, field: str) -> str | None:
    if not mime.hasFormat(kind):
        return None
    try:
        value = json.loads(bytes(mime.data(kind).data()).decode()).get(field)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def dragged_criterion(mime: QMimeData) -> str | None:
    """The palette key being dragged, if it is a palette entry."""
    return _payload(mime, CRITERION_MIME, "key")


def dragged_node(mime: QMimeData) -> str | None:
    """The id of the canvas node being dragged, if it is one."""
    return _payload(mime, NODE_MIME, "node_id")
