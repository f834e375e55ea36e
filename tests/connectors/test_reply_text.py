"""Reply bodies as one line for error messages: HTML pages reduced to their title or text, whitespace folded."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.connectors.reply_text import one_line


def test_an_html_page_is_reduced_to_its_title():
    page = "<!DOCTYPE html>\n<html><head><title>502 Bad\n Gateway</title></head><body><h1>x</h1></body></html>"
    assert one_line(page) == "502 Bad Gateway"


def test_an_html_page_without_a_title_gives_its_text_without_scripts_or_tags():
    page = "<html><body><script>var a = 1;</script><h1>Internal &amp; Server Error</h1>\n<p>Sorry.</p></body></html>"
    assert one_line(page) == "Internal & Server Error Sorry."


def test_plain_text_and_json_are_only_folded_and_cut():
    assert one_line('{"error":\n  "bad"}') == '{"error": "bad"}'
    assert one_line("a < b and c > d") == "a < b and c > d"
    assert one_line("x" * 500, limit=10) == "x" * 9 + "…"
    assert one_line("") == ""


@given(st.text())
def test_the_line_never_holds_a_line_break_and_never_runs_over_the_limit(text):
    line = one_line(text, limit=80)
    assert "\n" not in line and "\r" not in line and len(line) <= 80
