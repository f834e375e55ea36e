"""The criteria language: documents, validation, compilation to DuckDB SQL and estimates. No Qt."""
