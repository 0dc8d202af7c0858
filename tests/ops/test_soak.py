"""The soak verdict and its configuration: what counts as clean, flat and correctly counted."""

import json
from collections import Counter

import pytest
from invoke.exceptions import Exit

from prediris_ops.load.loadgen import LoadResult
from prediris_ops.load.soak import Sample, SoakPlan, judge
from prediris_ops.tasks.soak import soak, soak_plan

PLAN = SoakPlan(duration=100, sample_every=10, warmup_fraction=0.2, max_rss_growth_mb=10)


def flat(rss_kib=100_000, threads=12):
    return [Sample(elapsed, rss_kib, threads) for elapsed in range(0, 101, 10)]


def clean_load(ok=1000):
    return LoadResult(statuses=Counter({200: ok}), duration=100)


def test_a_clean_flat_run_with_equal_counters_passes():
    assert judge(PLAN, clean_load(), flat(), {"http 200": 1000, "shed overloaded": 0}) == []


def test_client_failures_and_non_200_replies_fail_the_soak():
    load = LoadResult(statuses=Counter({200: 990, 503: 10}), failures=Counter({"timeout": 2}), duration=100)
    failures = judge(PLAN, load, flat(), {"http 200": 990, "shed overloaded": 10})
    assert failures == ["client failures: {'timeout': 2}", "replies other than 200: {503: 10}"]


def test_memory_growth_after_warm_up_fails_but_growth_during_warm_up_does_not():
    warming = [Sample(0, 50000, 12), Sample(10, 90000, 12), *flat()[2:]]
    assert judge(PLAN, clean_load(), warming, {"http 200": 1000}) == []
    leaking = [Sample(sample.elapsed, 100_000 + sample.elapsed * 200, 12) for sample in flat()]
    assert judge(PLAN, clean_load(), leaking, {"http 200": 1000}) == ["resident memory grew by 15.6 MiB after warm-up (allowed 10)"]


def test_a_changing_thread_count_fails_the_soak():
    samples = [*flat()[:-1], Sample(100, 100000, 13)]
    assert judge(PLAN, clean_load(), samples, {"http 200": 1000}) == []  # a pool that grows by a few
    samples = [*flat()[:-1], Sample(100, 100000, 40)]
    assert judge(PLAN, clean_load(), samples, {"http 200": 1000}) == ["the thread count grew by more than 8: [12, 40]"]


def test_metrics_that_disagree_with_the_clients_fail_the_soak():
    assert judge(PLAN, clean_load(1000), flat(), {"http 200": 999}) == ["/metrics counted 999 successful predictions, the clients 1000"]
    assert judge(PLAN, clean_load(1000), flat(), {"http 200": 1000, "http 500": 1}) == ["/metrics counted 1 other replies, the clients 0"]


def test_the_plan_comes_from_invoke_yaml_and_flags_override_it(make_context):
    defaults = soak_plan(make_context())
    assert (defaults.duration, defaults.connections, defaults.rate) == (600, 16, 200)
    overridden = soak_plan(make_context(), duration="30s", connections="4", rate="50")
    assert (overridden.duration, overridden.connections, overridden.rate) == (30, 4, 50)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"duration": "ten"}, "--duration='ten' is not a duration: a number of seconds, or e.g. 30s, 1m30s"),
        ({"sample_every": "0s"}, "--sample-every='0s' is not a positive duration: a number of seconds, or e.g. 30s, 1m30s"),
        ({"connections": "many"}, "--connections='many' is not an integer"),
        ({"rate": "fast"}, "--rate='fast' is not a number"),
    ],
    ids=["duration", "sample-every", "connections", "rate"],
)
def test_a_bad_flag_stops_the_task_with_one_line(make_context, options, message):
    with pytest.raises(Exit, match=f"^{message}") as raised:
        soak(make_context(), **options)
    assert raised.value.code == 2


@pytest.mark.e2e
def test_invoke_soak_serves_the_model_judges_the_run_and_writes_its_report(make_context, model_dir, tmp_path, capsys):
    context = make_context(soak={"reports": str(tmp_path)})
    soak(context, duration="4s", connections="2", rate="40", sample_every="1s", model_dir=str(model_dir))
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / "soak.json").read_text())
    assert "PASS: no error, flat memory and threads, counters equal" in printed
    assert report["verdict"] == "pass"
    assert report["server"]["http 200"] == report["statuses"]["200"] > 0
    assert (tmp_path / "server.log").exists()
