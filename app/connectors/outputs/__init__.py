"""Outputs: the partners audiences are forwarded to, their settings, secrets, OAuth sign-in and batch sending. No Qt, no store."""
