"""The Insights window: who is in one audience (or an unsaved draft), why a profile is in it or not, how it
overlaps other audiences and what it is made of, answered by app.engines.insights on worker threads."""
