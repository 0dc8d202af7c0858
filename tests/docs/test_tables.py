"""The manual's generated tables: each lists every item of the code it is built from."""

import copy
import json
import re
import subprocess
from dataclasses import fields

import pytest
from prometheus_client import CollectorRegistry

from prediris_api.protocol.problems import PROBLEM_TYPES
from prediris_api.settings import Settings
from prediris_metrics import PredirisMetrics
from prediris_ops.core.paths import ROOT
from prediris_ops.docs import tables
from prediris_ops.docs.hooks import expand
from prediris_ops.docs.tables import DocsError
from prediris_ops.load.bench import Report

DOCS = ROOT / "docs"


def test_the_problems_table_lists_every_problem_type_with_its_status():
    table = tables.problems_table()
    for kind in PROBLEM_TYPES.values():
        assert f"| `/problems/{kind.slug}` | {kind.status} | {kind.title} |" in table


@pytest.mark.parametrize("item", fields(Settings), ids=lambda item: item.name)
def test_every_setting_is_documented_and_in_the_configuration_table(item):
    assert item.metadata.get("doc"), f"Settings.{item.name} has no doc: declare it with setting(default, 'what it does')"
    row = next(line for line in tables.settings_table().splitlines() if f"`PREDIRIS_{item.name.upper()}`" in line)
    assert item.metadata["doc"].split()[0] in row


def test_the_configuration_table_names_port_as_the_fallback_variable():
    assert "| `PREDIRIS_PORT`, or `PORT` | `5000` |" in tables.settings_table()


def test_the_tasks_table_lists_every_task_and_every_option_as_invoke_help_shows_them():
    collection = tables.load_collection()
    table = tables.tasks_table(collection)
    # invoke's own parser contexts, built from a copy: building them consumes the tasks' help texts.
    for context in copy.deepcopy(collection).to_contexts():
        assert f"### invoke {context.name}\n" in table
        for flags, _help in context.help_tuples():
            assert f"`{flags}`" in table


def test_the_tasks_table_keeps_the_options_help_when_built_twice():
    # invoke pops each help text when it builds a task's arguments; a second build must still have them.
    collection = tables.load_collection()
    first, second = tables.tasks_table(collection), tables.tasks_table(collection)
    assert first == second
    helps = [text for context in copy.deepcopy(collection).to_contexts() for _flags, text in context.help_tuples() if text]
    assert helps
    for text in helps:
        assert tables._cell(text) in second


def test_the_layout_table_lists_every_package_folder():
    table = tables.layout_table()
    folders = {path.parent.relative_to(ROOT / "packages") for path in (ROOT / "packages").glob("**/*.py")}
    assert folders, "no package found"
    for folder in folders:
        assert f"| `{folder.as_posix()}/` |" in table


def test_the_committed_bench_figures_are_an_invoke_bench_document_and_all_in_the_table():
    document = json.loads((DOCS / "data" / "bench.json").read_text())
    assert {"started_at", "machine", "config", "points", "ratios"} <= set(document) <= {item.name for item in fields(Report)} | {"verdicts"}
    table = tables.bench_table(DOCS / "data" / "bench.json")
    for point in document["points"]:
        assert f"| {point['subject']} | {point['connections']} | {point['rows_per_request']} | {point['requests_per_s']:.1f} |" in table
    for name in document["ratios"]:
        assert f"| `{name}` |" in table


def test_a_bench_variant_is_shown_with_its_ratios_against_the_targets(tmp_path):
    document = json.loads((DOCS / "data" / "bench.json").read_text())
    document["variants"] = {"threads=4": {"throughput_vs_constant": 0.2, "p99_vs_constant": 1.2}}
    (tmp_path / "bench.json").write_text(json.dumps(document))
    table = tables.bench_table(tmp_path / "bench.json")
    assert "A/B variant `threads=4`, measured in the same run:" in table
    assert "| `throughput_vs_constant` | 0.2 | `>= 0.25` | below target |" in table
    assert "| `p99_vs_constant` | 1.2 | `<= 6.0` | ok |" in table


def test_the_drift_counting_microbenchmark_is_shown_with_its_share_of_a_request(tmp_path):
    document = json.loads((DOCS / "data" / "bench.json").read_text())
    document["drift_counting"] = {"one_row_request_us": 0.6, "hundred_row_request_us": 5.1, "share_of_request_cpu": 0.008}
    (tmp_path / "bench.json").write_text(json.dumps(document))
    table = tables.bench_table(tmp_path / "bench.json")
    assert "| `one_row_request_us` | 0.6 |" in table
    assert "| `share_of_request_cpu` | 0.008 |" in table


def test_an_unreadable_bench_file_says_how_to_provide_one(tmp_path):
    with pytest.raises(DocsError, match="copy build/bench/latest.json there"):
        tables.bench_table(tmp_path / "bench.json")


def test_a_marker_is_replaced_by_its_table_and_other_text_is_kept():
    page = "# Configuration\n\nIntro.\n\n<!-- generated: settings -->\n\nOutro.\n"
    result = expand(page, DOCS)
    assert result.startswith("# Configuration\n\nIntro.\n\n| variable | default | meaning |")
    assert "`PREDIRIS_THREADS`" in result
    assert result.endswith("\n\nOutro.\n")
    assert "generated:" not in result


def test_an_unknown_marker_fails_naming_the_page_and_the_known_markers():
    with pytest.raises(
        DocsError, match=r"api.md: unknown marker <!-- generated: problem -->; use one of bench, drift-cost, layout, problems"
    ):
        expand("<!-- generated: problem -->\n", DOCS, "api.md")


@pytest.mark.parametrize(
    ("page", "marker"),
    [("api.md", "problems"), ("configuration.md", "settings"), ("tasks.md", "tasks"), ("architecture.md", "layout")],
)
def test_each_reference_page_holds_its_generated_table(page, marker):
    assert f"\n<!-- generated: {marker} -->\n" in (DOCS / page).read_text()


def test_the_architecture_page_names_every_tracked_folder_at_the_top_of_the_repository():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    folders = {path.split("/")[0] for path in files if "/" in path}
    page = (DOCS / "architecture.md").read_text()
    for name in sorted(folders):
        assert f"{name}/" in page, f"docs/architecture.md does not describe {name}/"


def test_a_page_path_in_the_nav_exists_for_every_page_this_repository_writes():
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in sorted(DOCS.glob("**/*.md")):
        assert page.relative_to(DOCS).as_posix() in nav, f"{page} is not in mkdocs.yml's nav"


def test_pages_refer_to_modules_that_exist():
    for page in sorted(DOCS.glob("**/*.md")):
        for module in sorted(set(_module_paths(page.read_text()))):
            assert (ROOT / "packages" / module).exists(), f"{page.name} names packages/{module}, which does not exist"


def _module_paths(text: str) -> list[str]:
    return re.findall(r"`(prediris_(?:api|ops|model|metrics)/[\w/]+\.py)`", text)


def test_a_cell_shows_angle_brackets_and_pipes_as_text_and_keeps_code_spans():
    assert tables._cell("write build/perf/<time>/ | or `perf/<name>.yml`") == "write build/perf/&lt;time&gt;/ \\| or `perf/<name>.yml`"


def test_the_metrics_page_lists_exactly_the_declared_metrics():
    registry = CollectorRegistry()
    PredirisMetrics(registry)
    declared = {(family.name + ("_total" if family.type == "counter" else ""), family.type) for family in registry.collect()}
    page = (DOCS / "metrics.md").read_text()
    documented = set(re.findall(r"^\| `(prediris_\w+)` \| (counter|gauge|histogram)", page, re.MULTILINE))
    assert documented == declared
