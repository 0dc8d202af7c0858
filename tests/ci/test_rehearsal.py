"""The hosted-runner rehearsal `.ci/run` runs the suite in (ci/rehearse.py): the conditions are real, and
a root-only assumption fails there. Outside the rehearsal these tests skip: they describe its run."""

import grp
import os
import subprocess
import sys
import textwrap

import pytest

from prediris_ops.container import docker, engine
from prediris_ops.core.paths import ROOT

pytestmark = pytest.mark.skipif("hosted-runner" not in os.environ.get("PREDIRIS_REHEARSAL", ""), reason="not in the rehearsal (.ci/run)")


def test_the_suite_runs_as_a_hosted_runner_user_against_a_docker_in_docker_engine():
    assert os.geteuid() != 0
    assert os.environ["CI"] == "true"
    assert grp.getgrnam("docker").gr_gid in os.getgroups()
    assert subprocess.run(["sudo", "-n", "true"], check=False).returncode == 0  # passwordless sudo
    assert os.access(ROOT, os.W_OK) and os.access(os.path.expanduser("~"), os.W_OK)
    # The engine already runs and answers over TCP from another network namespace: its 127.0.0.1 is not ours.
    client = docker.resolve_client("docker")
    assert engine.server_version(client)
    assert engine.engine_address() != "127.0.0.1"
    assert engine.job_address() != "127.0.0.1"


def test_a_root_only_assumption_fails_the_rehearsal(tmp_path):
    # What the engine test assumed before: "CI can start dockerd" (true only as root). Under CI=true a
    # missing capability fails instead of skipping, so the rehearsal turns the assumption into a failure.
    probe = tmp_path / "test_root_only.py"
    probe.write_text(
        textwrap.dedent(
            """
            from prediris_ops.container import engine
            from tests.support.tools import missing

            def test_ci_can_start_dockerd():
                reason = engine.can_start_engine()
                if reason:
                    missing(reason)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(probe)]
    result = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1, result.stdout
    assert "CI=true and starting dockerd needs root" in result.stdout
