"""Shared models, topic names and settings: the one source of truth for every component."""
