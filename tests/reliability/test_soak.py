"""A short soak in CI (`invoke soak --duration 10m` is the long one): steady load, clean, flat, counted."""

import pytest

from prediris_ops.core.localapi import local_api
from prediris_ops.load.soak import SoakPlan, run_soak

pytestmark = pytest.mark.e2e


def test_a_short_soak_has_no_error_flat_memory_and_threads_and_exact_counters(model_dir, tmp_path):
    plan = SoakPlan(duration=30, connections=8, rate=150, sample_every=2, warmup_fraction=0.3, max_rss_growth_mb=10)
    with local_api(model_dir, tmp_path / "server.log", settings={"shutdown_grace_seconds": 1}) as api:
        report = run_soak(api.base_url, api.pid, plan)
    print("\n" + "\n".join(report.lines()))
    assert report.failures == []
    assert report.load.statuses[200] > 0
