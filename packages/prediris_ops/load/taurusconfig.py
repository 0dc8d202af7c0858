"""Taurus's configuration rules, for reading profiles without importing Taurus itself.

Importing bzt imports urwid, whose deprecated module aliases then sit in sys.modules and raise
DeprecationWarnings at whoever inspects modules (hypothesis does, in every property test). So the
task reads profiles with these few rules, and bzt only ever runs as its own process. A test checks
them against Taurus's own code, run in a subprocess.

- Merging files: dicts merge deeply, lists extend, scalars replace; a key prefixed `~` replaces,
  `^` deletes, `$` merges list items index by index (Taurus's BetterDict).
- Durations: `90`, `90s`, `1m30s`, `2h`, `500ms` (Taurus's dehumanize_time): prediris_ops.core.durations.
"""

import copy


def merge(base: dict, overlay: dict) -> dict:
    """Merge `overlay` into `base` in place with Taurus's rules, and return `base`."""
    for raw_key, value in overlay.items():
        prefix, key = (raw_key[0], raw_key[1:]) if raw_key[:1] in ("~", "^", "$") else ("", raw_key)
        if prefix == "^":
            base.pop(key, None)
            continue
        if prefix == "~":
            base.pop(key, None)
        current = base.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merge(current, value)
        elif isinstance(value, list) and isinstance(current, list):
            if prefix == "$":
                for index, item in enumerate(value):
                    if index < len(current) and isinstance(current[index], dict) and isinstance(item, dict):
                        merge(current[index], item)
                    elif index < len(current):
                        current[index] = copy.deepcopy(item)
                    else:
                        current.append(copy.deepcopy(item))
            else:
                current.extend(copy.deepcopy(value))
        else:
            base[key] = copy.deepcopy(value)
    return base
