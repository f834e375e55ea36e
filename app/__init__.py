"""Audience Studio: model audiences offline with live size estimates from a local DuckDB cache."""

__version__ = "0.1.0"
