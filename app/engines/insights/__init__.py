"""Audience insights over the cache: who is in an audience (members), why a profile is in it or not,
how audiences overlap, and what an audience is made of (breakdowns). Qt-free: the CLI and the app's
Insights window call the same functions, the app on a worker thread."""
