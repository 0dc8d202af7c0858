"""The repository's root: every path a task reads or writes is relative to it."""

from pathlib import Path

# packages/prediris_ops/core/paths.py -> the checkout (an editable install; the ops tools run from a clone).
ROOT = Path(__file__).resolve().parents[3]
