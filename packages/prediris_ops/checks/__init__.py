"""Checks: the linters, the CI-file linters and the smoke checks of a running API."""
