"""Retry-After (RFC 9110 §10.2.3): delta-seconds and the three forms of an HTTP-date."""

from __future__ import annotations

import datetime as dt

import pytest

from app.connectors.retry_after import retry_after_seconds

NOW = dt.datetime(1994, 11, 6, 8, 49, 7, tzinfo=dt.timezone.utc).timestamp()


@pytest.mark.parametrize(("value", "seconds"), [
    ("120", 120.0), (" 0 ", 0.0), ("1.5", 1.5),
    ("Sun, 06 Nov 1994 08:49:37 GMT", 30.0),  # IMF-fixdate
    ("Sunday, 06-Nov-94 08:49:37 GMT", 30.0),  # obsolete RFC 850 form
    ("Sun Nov  6 08:49:37 1994", 30.0),  # obsolete asctime form: UTC, though it names no zone
    ("Sun, 06 Nov 1994 08:48:37 GMT", 0.0),  # a date passed: go on at once
])
def test_both_forms_are_read(value, seconds):
    assert retry_after_seconds(value, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize("value", [None, "", "-5", "nan", "inf", "1e3", "soon", "٣"])
def test_anything_else_is_no_retry_after(value):
    assert retry_after_seconds(value, now=NOW) is None
