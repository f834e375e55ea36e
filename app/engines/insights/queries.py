"""The DuckDB cursors one insight question runs on, so that a question asked again (or a window closed)
stops the query that is running instead of letting it finish unseen.

`Queries.cancel` may be called from any thread: it interrupts every query running on the question's
cursors (DuckDB's `DuckDBPyConnection.interrupt()`, which stops the query running on that connection
only) and refuses to start new ones. The question then ends with `QuestionCancelled`, never with
DuckDB's own interrupt error.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

from app.engines.home import OpenHome
from app.errors import UserError


class QuestionCancelled(UserError):
    """A newer question (or closing the window) stopped this one."""

    def __init__(self) -> None:
        super().__init__("stopped: a newer question replaced this one")


class _Cursor:
    """A cursor that checks, before each query, that its question was not cancelled meanwhile.

    `interrupt()` only stops a query already running, so one cancelled between two queries of the
    same question would otherwise run the next one to its end."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, queries: Queries) -> None:
        self._cursor, self._queries = cursor, queries

    def execute(self, *args: Any, **kwargs: Any) -> _Cursor:
        self._queries.check()
        self._cursor.execute(*args, **kwargs)
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class Queries:
    """The cursors of one question; cancel it from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._cancelled = False

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def check(self) -> None:
        """Raise QuestionCancelled once the question was cancelled."""
        if self._cancelled:
            raise QuestionCancelled()

    @contextmanager
    def cursor(self, home: OpenHome) -> Iterator[Any]:
        """A cursor of the home's cache for this question, closed at the end; an interrupted query raises
        QuestionCancelled."""
        self.check()
        cursor = home.cache.cursor()  # outside the lock: `cancel` (on the GUI thread) never waits for it
        with self._lock:
            if self._cancelled:
                cursor.close()
                raise QuestionCancelled()
            self._cursors.append(cursor)
        try:
            yield _Cursor(cursor, self)
        except duckdb.InterruptException as exc:
            if self._cancelled:
                raise QuestionCancelled() from exc
            raise
        finally:
            with self._lock:
                self._cursors.remove(cursor)
            cursor.close()

    def cancel(self) -> None:
        """Stop the question: its running query is interrupted, no other starts. Calling again interrupts again."""
        with self._lock:
            self._cancelled = True
            running = list(self._cursors)
        for cursor in running:
            cursor.interrupt()


def cursor_for(home: OpenHome, queries: Queries | None):
    """The question's cursor (a context manager); without a question, one that nobody cancels."""
    return (queries or Queries()).cursor(home)
