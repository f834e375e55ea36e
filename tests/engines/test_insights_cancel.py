"""Cancelling an insight question stops its DuckDB query (DuckDBPyConnection.interrupt), not only its answer."""

from __future__ import annotations

import threading

import duckdb
import pytest
from duckdb.sqltypes import BIGINT

from app.engines.home import OpenHome
from app.engines.insights.overlap import overlap
from app.engines.insights.queries import QuestionCancelled, Queries
from app.engines.insights.subjects import Subject
from app.paths import Home
from tests.builder.test_compiler_examples import doc

IOS = {"id": "ios", "type": "device", "field": "platform", "operator": "equals", "value": "iOS"}
#: ten billion rows, each through a Python function: it would run for hours unless interrupted
ENDLESS = "SELECT count(*) FROM range(10000000000) t(i) WHERE started(i) = -1"


@pytest.fixture
def home(home_dir: Home):
    with OpenHome.open(home_dir, user="maria") as opened:
        yield opened


def test_cancel_interrupts_the_running_query(home):
    queries, running = Queries(), threading.Event()
    outcome: list[BaseException] = []

    def started(i: int) -> int:
        running.set()
        return i

    def ask() -> None:
        try:
            with queries.cursor(home) as cursor:
                cursor.create_function("started", started, [BIGINT], BIGINT)
                cursor.execute(ENDLESS).fetchall()
        except BaseException as exc:  # noqa: BLE001 - the test looks at what ended the question
            outcome.append(exc)
        running.set()  # a question that failed to start does not leave the test waiting

    worker = threading.Thread(target=ask)
    worker.start()
    running.wait()  # the query is running: its function was called
    queries.cancel()
    worker.join()
    assert len(outcome) == 1 and isinstance(outcome[0], QuestionCancelled)
    assert isinstance(outcome[0].__cause__, duckdb.InterruptException)  # stopped mid-query, not before it


def test_a_cancelled_question_starts_no_query(home):
    ws = home.workspaces.create("US", [("platform", "iOS")])
    ios = Subject.draft(doc(IOS), [ws.id], name="iOS")
    other = Subject.draft(doc({**IOS, "value": "Android"}), [ws.id], name="Android")
    queries = Queries()
    assert overlap(home, [ios, other], queries=queries).regions == {1: 0, 2: 0, 3: 0}
    queries.cancel()
    with pytest.raises(QuestionCancelled):
        overlap(home, [ios, other], queries=queries)


def test_an_interrupt_nobody_asked_for_is_not_called_cancelled(home):
    queries, running = Queries(), threading.Event()
    outcome: list[BaseException] = []

    def ask() -> None:
        try:
            with queries.cursor(home) as cursor:
                cursor.create_function("started", lambda i: running.set() or i, [BIGINT], BIGINT)
                holder.append(cursor)
                cursor.execute(ENDLESS).fetchall()
        except BaseException as exc:  # noqa: BLE001
            outcome.append(exc)
        running.set()

    holder: list = []
    worker = threading.Thread(target=ask)
    worker.start()
    running.wait()
    holder[0].interrupt()  # DuckDB's own interrupt, not the question's cancel
    worker.join()
    assert isinstance(outcome[0], duckdb.InterruptException) and not isinstance(outcome[0], QuestionCancelled)
