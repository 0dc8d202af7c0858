"""Invoke task modules, one concern each; the repository's tasks.py composes them."""
