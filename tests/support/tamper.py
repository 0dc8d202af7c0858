"""Tampered copies of the project's files, for tests that a check refuses them."""

import re


def alter_hash(lock_text: str, name: str) -> tuple[str, str, str]:
    """Return (the lock text with `name`'s SHA-256 changed in its last digit, the original hex, the altered hex)."""
    match = re.search(rf"^{re.escape(name)}==\S+ --hash=sha256:([0-9a-f]{{64}})", lock_text, flags=re.MULTILINE)
    assert match, f"{name} has no hash in the lock"
    original = match.group(1)
    altered = original[:-1] + ("0" if original[-1] != "0" else "1")
    return lock_text[: match.start(1)] + altered + lock_text[match.end(1) :], original, altered
