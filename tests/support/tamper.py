"""Tampered copies of the project's files, for tests that a check refuses them."""

import re


def alter_hash(lock_text: str, name: str) -> tuple[str, list[str], list[str]]:
    """Return (the lock text with each of `name`'s SHA-256 changed in its last digit, the original hexes, the altered ones).

    uv writes `name==version \\` then one `--hash=sha256:…` line per file of the release (wheels, sdist):
    every one is altered, so no file of the release matches.
    """
    block = re.search(rf"^{re.escape(name)}==\S+(?:[\s\\]+--hash=sha256:[0-9a-f]{{64}})+", lock_text, flags=re.MULTILINE)
    assert block, f"{name} has no hash in the lock"
    originals = re.findall(r"sha256:([0-9a-f]{64})", block.group(0))
    altered = [hexes[:-1] + ("0" if hexes[-1] != "0" else "1") for hexes in originals]
    text = block.group(0)
    for before, after in zip(originals, altered, strict=True):
        text = text.replace(before, after)
    return lock_text[: block.start()] + text + lock_text[block.end() :], originals, altered
