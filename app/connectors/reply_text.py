"""A server's or partner's reply body as one short line for an error message.

Error messages are one line on stderr and one line in the Faults pane, but a web server that is not
the one expected answers with a page of HTML: its title (or its text without tags) is what says
something, and whitespace is folded so nothing spills over several lines.
"""

from __future__ import annotations

import html
import re

LIMIT = 300

_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def one_line(text: str, limit: int = LIMIT) -> str:
    """`text` folded to one line of at most `limit` characters; an HTML page is reduced to its title,
    or to its text when it has none."""
    text = (text or "").strip()
    if text.startswith("<") and re.search(r"<(!doctype|html|head|body|title|h1|p)\b", text[:1000], re.IGNORECASE):
        title = _TITLE.search(text)
        text = title.group(1) if title else _TAG.sub(" ", _SCRIPT_OR_STYLE.sub(" ", text))
        text = html.unescape(text)
    folded = " ".join(text.split())
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"
