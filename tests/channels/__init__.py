"""Channels' taxonomy API: the HTTP simulator and the client's tests."""
