"""Jobs over the cache, files and partners: sizes, estimates, members, downloads, forwarding, import, sync,
demo, revenue queries. Qt-free; each one plain Python callable from the CLI, a worker thread or the server."""
