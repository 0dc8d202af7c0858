"""Markdown tables built from the code itself, so the manual cannot drift from it.

Each generator returns Markdown for one marker of a page (`<!-- generated: NAME -->`): the problem
types from the registry, the environment variables from `Settings`, the tasks and their options from
the invoke collection, the package layout from the folders, and the latest bench figures from a JSON
file written by `invoke bench`.
"""

import ast
import copy
import importlib.util
import json
from collections.abc import Callable, Sequence
from dataclasses import MISSING, Field, fields
from pathlib import Path

from invoke import Collection
from invoke.parser import ParserContext

from prediris_api.protocol.problems import PROBLEM_TYPES, type_uri
from prediris_api.settings import Settings
from prediris_ops.core.errors import OpsError
from prediris_ops.core.paths import ROOT
from prediris_ops.load.bench import TARGETS, verdicts


class DocsError(OpsError):
    """A page asks for a table that cannot be built; the message names the page's fix."""


def _text(text: object) -> str:
    """Make text one Markdown line whose `<...>` outside code spans is shown, not read as an HTML tag."""
    pieces = " ".join(str(text).split()).split("`")
    # Odd pieces are inside code spans, where Markdown shows < and > as they are.
    return "`".join(piece if index % 2 else piece.replace("<", "&lt;").replace(">", "&gt;") for index, piece in enumerate(pieces))


def _cell(text: object) -> str:
    """Make text safe inside one Markdown table cell."""
    return _text(text).replace("|", "\\|")


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def problems_table() -> str:
    """Every problem type of the API's registry: its `type`, status, title and meaning."""
    rows = [(f"`{type_uri(kind.slug)}`", kind.status, kind.title, kind.description) for kind in PROBLEM_TYPES.values()]
    return _table(("type", "status", "title", "when"), rows)


def setting_variable(name: str) -> str:
    return f"PREDIRIS_{name.upper()}"


def _default(item: Field[object]) -> str:
    value = item.default
    if value is MISSING:
        return "(required)"
    if value in ("", None):
        return "(none)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def settings_table() -> str:
    """Every field of `Settings`: its variable, default and the meaning it documents."""
    rows = []
    for item in fields(Settings):
        variable = f"`{setting_variable(item.name)}`"
        if item.name == "port":
            variable += ", or `PORT`"
        rows.append((variable, _default(item), item.metadata.get("doc", "")))
    return _table(("variable", "default", "meaning"), rows)


def load_collection(tasks_file: Path = ROOT / "tasks.py") -> Collection:
    """Import the repository's tasks.py and return its collection `ns`."""
    spec = importlib.util.spec_from_file_location("prediris_repository_tasks", tasks_file)
    if spec is None or spec.loader is None:
        raise DocsError(f"cannot import the tasks of {tasks_file}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ns


def task_options(collection: Collection) -> list[tuple[str, str, list[tuple[str, str | None]]]]:
    """Return (name, one-line help, [(flags, help)]) per task, as `invoke --help TASK` shows them."""
    result = []
    for name in sorted(collection.task_names):
        task = collection[name]
        # Task.get_arguments() pops each help text it uses: work on a copy so the next build has them too.
        fresh = copy.copy(task)
        fresh.help = dict(task.help)
        options = ParserContext(name=name, args=fresh.get_arguments()).help_tuples()
        summary = (task.__doc__ or "").strip().split("\n\n")[0]
        result.append((name, " ".join(summary.split()), options))
    return result


def tasks_table(collection: Collection | None = None) -> str:
    """A summary table of the tasks, then each task's options as `invoke --help` prints them."""
    entries = task_options(collection or load_collection())
    parts = [_table(("task", "what it does"), [(f"[`invoke {name}`](#invoke-{name})", summary) for name, summary, _ in entries])]
    for name, summary, options in entries:
        parts.append(f"### invoke {name}\n\n{_text(summary)}")
        if options:
            parts.append(_table(("option", "help"), [(f"`{flags}`", text) for flags, text in options]))
        else:
            parts.append("No options.")
    return "\n\n".join(parts)


def _package_summary(package: Path) -> str:
    docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    return " ".join(docstring.split("\n\n")[0].split())


def package_folders(packages: Path = ROOT / "packages") -> list[Path]:
    """Every Python package under packages/ (a folder with an __init__.py), in tree order."""
    return sorted(path.parent.relative_to(packages) for path in packages.rglob("__init__.py"))


def layout_table(packages: Path = ROOT / "packages") -> str:
    """The package folders, each with the first paragraph of its docstring and its modules."""
    rows = []
    for folder in package_folders(packages):
        modules = sorted(path.stem for path in (packages / folder).glob("*.py") if path.name != "__init__.py")
        rows.append((f"`{folder.as_posix()}/`", _package_summary(packages / folder), ", ".join(f"`{name}`" for name in modules) or "—"))
    return _table(("package", "what it holds", "modules"), rows)


def _target(name: str, value: float | None) -> tuple[str, str]:
    """Return a ratio's target and its verdict ("—" for a ratio without target or value)."""
    if name not in TARGETS or value is None:
        return "—", "—"
    op, bound = TARGETS[name]
    return f"`{op} {bound}`", "ok" if verdicts({name: value})[name] else "below target"


def _ratios_table(computed: dict) -> str:
    rows = [(f"`{name}`", value, *_target(name, value)) for name, value in computed.items()]
    return _table(("ratio", "value", "target", "verdict"), rows)


# The columns of a bench point, as (title, key in the JSON, format); a column no point has is left out.
BENCH_COLUMNS = (
    ("server", "subject", "{}"),
    ("connections", "connections", "{}"),
    ("rows", "rows_per_request", "{}"),
    ("req/s", "requests_per_s", "{:.1f}"),
    ("rows/s", "rows_per_s", "{:.1f}"),
    ("p50 ms", "p50_ms", "{:.3f}"),
    ("p99 ms", "p99_ms", "{:.3f}"),
    ("errors", "errors", "{}"),
    ("cpu %", "server_cpu_percent", "{:.1f}"),
    ("requests per CPU second", "requests_per_cpu_s", "{:.0f}"),
    ("rss MiB", "server_rss_mb", "{:.1f}"),
    ("rows/call", "rows_per_model_call", "{:.2f}"),
)


def bench_table(bench_json: Path) -> str:
    """The points, ratios and memory check of one `invoke bench` JSON document."""
    try:
        document = json.loads(bench_json.read_text())
    except (OSError, ValueError) as error:
        raise DocsError(f"cannot read the bench figures {bench_json}: {error}; copy build/bench/latest.json there") from None
    shown = [column for column in BENCH_COLUMNS if any(point.get(column[1]) is not None for point in document["points"])]
    points = [tuple("—" if point.get(key) is None else form.format(point[key]) for _, key, form in shown) for point in document["points"]]
    machine = document["machine"]
    parts = [
        f"Measured {document['started_at']} on {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
        f"load average {', '.join(map(str, machine['load_average']))}; {document['config']['duration']:g} s per point.",
        _table(tuple(title for title, _, _ in shown), points),
    ]
    if document["ratios"]:  # none in a run without the references (`--only prediris`, an A/B run)
        parts.append(_ratios_table(document["ratios"]))
    for name, computed in document.get("variants", {}).items():
        parts.append(f"A/B variant `{name}`, measured in the same run:")
        parts.append(_ratios_table(computed))
    drift = document.get("drift_counting")
    if drift:
        parts.append(
            "Drift counting, per-row microbenchmark in the same run (`share_of_request_cpu`: the one-row cost "
            "over prediris's CPU time per loaded request):"
        )
        parts.append(_table(("measure", "value"), [(f"`{name}`", value) for name, value in drift.items()]))
    memory = document.get("memory")
    if memory:
        before, after = memory["rss_before_mb"], memory["rss_after_mb"]
        parts.append(f"Resident memory: {before} MiB before, {after} MiB after {memory['requests']:,} more requests.")
    return "\n\n".join(parts)


def generators(docs_dir: Path) -> dict[str, Callable[[], str]]:
    """The markers a page may hold, and the function that builds each one's Markdown."""
    return {
        "problems": problems_table,
        "settings": settings_table,
        "tasks": tasks_table,
        "layout": layout_table,
        "bench": lambda: bench_table(docs_dir / "data" / "bench.json"),
        "drift-cost": lambda: bench_table(docs_dir / "data" / "drift-ab.json"),
    }
