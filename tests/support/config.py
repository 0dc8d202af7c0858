"""The project's invoke configuration as the tasks see it: invoke.yaml, then INVOKE_* variables."""

from invoke import Config

from prediris_ops.core.paths import ROOT


def project_config(**overrides) -> Config:
    """Load invoke.yaml and the environment; `overrides` maps a section to the keys to replace."""
    config = Config(project_location=str(ROOT))
    config.load_project()
    config.load_shell_env()
    for section, values in overrides.items():
        config[section].update(values)
    return config
