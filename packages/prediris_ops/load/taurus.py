"""The Taurus side of a load test: the profile files, the generated overrides, and the bzt command.

A profile is perf/<name>.yml. `predict` defines the scenario (JMeter requests and the
script), the default load and the SLO criteria; other profiles (`stress`) are layered on top of it,
as Taurus merges configuration files in order. The task adds one generated file last, holding only
what the run decides: where artifacts go, which JMeter, the target, the load, and the effective
criteria. `bzt perf/predict.yml` also runs by hand from the repository root.
"""

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from prediris_ops.core.durations import seconds
from prediris_ops.core.errors import OpsError
from prediris_ops.load.jmeter import JMeterChoice
from prediris_ops.load.results import FINAL_STATS_CSV, FINAL_STATS_XML
from prediris_ops.load.slo import Criterion, parse_criterion
from prediris_ops.load.taurusconfig import merge

PROFILES_DIR = Path("perf")
BASE_PROFILE = "predict"
# JMeter is the one load generator Taurus drives here (wrk measures `invoke bench`, loadgen.py `invoke soak`).
EXECUTORS = ("jmeter",)
# The scenario each executor runs (Taurus generates JMeter's test plan from it).
SCENARIOS = {"jmeter": "predict"}
ARTIFACTS = "taurus"
OVERRIDES_FILE = "taurus-overrides.yml"
SLO_REPORT = "slo.xml"


@dataclass(frozen=True)
class Load:
    concurrency: int
    ramp_up_seconds: int
    hold_seconds: int
    steps: int | None = None

    @property
    def total_seconds(self) -> int:
        return self.ramp_up_seconds + self.hold_seconds


@dataclass(frozen=True)
class Profile:
    name: str
    files: list[Path]
    load: Load
    criteria: list[Criterion]
    config: dict


def available_profiles(root: Path) -> list[str]:
    """Return the profile names found in perf/ (one per YAML file)."""
    return sorted(path.stem for path in (root / PROFILES_DIR).glob("*.yml"))


def profile_files(root: Path, name: str) -> list[Path]:
    """Return the files that make up a profile, base first, relative to `root`."""
    names = [BASE_PROFILE] if name == BASE_PROFILE else [BASE_PROFILE, name]
    files = [PROFILES_DIR / f"{item}.yml" for item in names]
    if not (root / files[-1]).is_file():
        raise OpsError(f"no load profile {name!r}: choose one of {', '.join(available_profiles(root))} (files in {PROFILES_DIR}/)", code=2)
    return files


def merged_config(root: Path, files: list[Path]) -> dict:
    """Merge the profile files as Taurus does (with its ~, ^ and $ prefixes)."""
    config: dict = {}
    for path in files:
        try:
            merge(config, yaml.safe_load((root / path).read_text(encoding="utf-8")) or {})
        except yaml.YAMLError as error:
            raise OpsError(f"{path} is not valid YAML: {error}", code=2) from None
    return config


def load_profile(root: Path, name: str) -> Profile:
    """Read a profile: its files, its first execution's load, and its pass/fail criteria."""
    files = profile_files(root, name)
    config = merged_config(root, files)
    executions = config.get("execution", [])
    if not executions:
        raise OpsError(f"{files[-1]} defines no execution", code=2)
    execution = executions[0]
    load = Load(
        concurrency=int(execution.get("concurrency", 1)),
        ramp_up_seconds=int(seconds(execution.get("ramp-up", 0))),
        hold_seconds=int(seconds(execution.get("hold-for", 0))),
        steps=int(execution["steps"]) if execution.get("steps") else None,
    )
    criteria = [
        parse_criterion(text)
        for module in config.get("reporting", [])
        if module.get("module") == "passfail"
        for text in module.get("criteria", [])
    ]
    return Profile(name, files, load, criteria, config)


def scenario_paths(root: Path, profile: Profile, scenario: str) -> dict:
    """Return the scenario's file settings made absolute (profiles name them relative to perf/).

    Taurus would find them next to the profile anyway, but only after a warning; absolute paths also
    let the task run from any folder.
    """
    settings = profile.config.get("scenarios", {}).get(scenario, {})
    folder = (root / PROFILES_DIR).resolve()
    paths: dict = {}
    if settings.get("script"):
        paths["script"] = str(folder / settings["script"])
    sources = settings.get("data-sources", [])
    if sources:
        paths["$data-sources"] = [{"path": str(folder / (source["path"] if isinstance(source, dict) else source))} for source in sources]
    return paths


def overrides(
    *,
    root: Path,
    profile: Profile,
    executor: str,
    target: str,
    load: Load,
    criteria: list[Criterion],
    report_dir: Path,
    jmeter: JMeterChoice | None,
) -> dict:
    """Return the generated Taurus configuration layered over the profile for this run."""
    scenario = SCENARIOS[executor]
    execution = {
        "executor": executor,
        "scenario": scenario,
        "concurrency": load.concurrency,
        "ramp-up": f"{load.ramp_up_seconds}s",
        "hold-for": f"{load.hold_seconds}s",
    }
    if load.steps and executor == "jmeter":
        execution["steps"] = load.steps
    modules: dict = {"console": {"disable": True}}
    if executor == "jmeter":
        modules["jmeter"] = {"detect-plugins": False}
        if jmeter is not None and jmeter.home is not None:
            modules["jmeter"]["path"] = str(jmeter.home / "bin" / "jmeter")
    return {
        # Read before anything else: a -o flag would come too late to stop the update check.
        "settings": {"check-updates": False, "artifacts-dir": str(report_dir / ARTIFACTS)},
        "modules": modules,
        "$execution": [execution],
        "scenarios": {scenario: {"default-address": target, **scenario_paths(root, profile, scenario)}},
        "~reporting": [
            {"module": "passfail", "criteria": [criterion.to_taurus() for criterion in criteria]},
            {
                "module": "final-stats",
                "summary": False,
                "percentiles": False,
                "summary-labels": False,
                "test-duration": True,
                "dump-csv": str(report_dir / ARTIFACTS / FINAL_STATS_CSV),
                "dump-xml": str(report_dir / ARTIFACTS / FINAL_STATS_XML),
            },
            {"module": "junit-xml", "data-source": "pass-fail", "filename": str(report_dir / ARTIFACTS / SLO_REPORT)},
        ],
    }


def write_overrides(report_dir: Path, config: dict) -> Path:
    """Write the generated configuration into the report folder and return its path."""
    path = report_dir / OVERRIDES_FILE
    path.write_text(
        "# Generated by `invoke perf` for this run; layered over the profile files.\n" + yaml.safe_dump(config, sort_keys=False)
    )
    return path


def bzt_argv(files: list[Path], overrides_path: Path) -> list[str]:
    """Return the bzt command: quiet (warnings and errors only), the profile files, then the overrides."""
    return [sys.executable, "-m", "bzt", "-q", *map(str, files), str(overrides_path)]


def bzt_command(files: list[Path], overrides_path: Path) -> str:
    """Return the bzt command as the one string handed to invoke's runner."""
    return shlex.join(bzt_argv(files, overrides_path))
