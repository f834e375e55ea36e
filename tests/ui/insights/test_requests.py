"""A tab's questions: asking again (or closing the window) stops the DuckDB query of the older question,
not only its answer."""

from __future__ import annotations

import threading

import duckdb
from duckdb.sqltypes import BIGINT

from app.engines.insights.queries import QuestionCancelled
from app.ui.insights.requests import Requests
from app.ui.kit.busy import BusyBar
from tests.ui.insights.conftest import TIMEOUT_MS

#: ten billion rows, each through a Python function: it would run for hours unless interrupted
ENDLESS = "SELECT count(*) FROM range(10000000000) t(i) WHERE started(i) = -1"


def _endless(home, running: threading.Event, ended: list[BaseException]):
    def work(queries) -> int:
        try:
            with queries.cursor(home) as cursor:
                cursor.create_function("started", lambda i: running.set() or i, [BIGINT], BIGINT)
                return cursor.execute(ENDLESS).fetchone()[0]
        except BaseException as exc:
            ended.append(exc)
            raise
        finally:
            running.set()  # a question that failed to start does not leave the test waiting
    return work


def test_a_newer_question_interrupts_the_older_query(qtbot, connection):
    conn, tasks = connection
    requests = Requests(tasks, BusyBar(), "Counting")
    running, ended, answers, failures = threading.Event(), [], [], []
    requests.ask(_endless(conn.open_home, running, ended), answers.append, on_failure=failures.append)
    running.wait()
    requests.ask(lambda _queries: "newer", answers.append, on_failure=failures.append)
    qtbot.waitUntil(lambda: answers == ["newer"], timeout=TIMEOUT_MS)
    tasks.wait()
    assert isinstance(ended[0], QuestionCancelled) and isinstance(ended[0].__cause__, duckdb.InterruptException)
    assert failures == []  # the stopped question's failure is not said to the user


def test_stopping_interrupts_the_running_query(qtbot, connection):
    conn, tasks = connection
    requests = Requests(tasks, BusyBar(), "Counting")
    running, ended, answers = threading.Event(), [], []
    requests.ask(_endless(conn.open_home, running, ended), answers.append)
    running.wait()
    requests.stop()
    tasks.wait()
    assert isinstance(ended[0], QuestionCancelled) and isinstance(ended[0].__cause__, duckdb.InterruptException)
    assert answers == [] and not requests.is_busy()
