"""With api.metrics_port set, `invoke up` serves /metrics there and `invoke observe` scrapes that port."""

from prediris_ops.core.apiconfig import api_settings
from prediris_ops.observe.session import stack_options


def test_observe_scrapes_the_api_port_when_no_metrics_port_is_configured(make_context, tmp_path):
    c = make_context(api={"port": 5055, "metrics_port": None})
    assert stack_options(c.config, state_dir=str(tmp_path)).api_targets == ("127.0.0.1:5055",)


def test_observe_scrapes_the_metrics_port_natively_and_from_compose(make_context, tmp_path):
    c = make_context(api={"port": 5055, "metrics_port": 9109})
    assert stack_options(c.config, state_dir=str(tmp_path)).api_targets == ("127.0.0.1:9109",)
    assert stack_options(c.config, state_dir=str(tmp_path), compose=True).api_targets == ("host.docker.internal:9109",)


def test_up_passes_the_metrics_port_to_the_server_only_when_configured(make_context):
    configured = api_settings(make_context(api={"metrics_port": 9109}).config, environ={})
    assert configured.server_env()["PREDIRIS_METRICS_PORT"] == "9109"
    assert "PREDIRIS_METRICS_PORT" not in api_settings(make_context(api={"metrics_port": None}).config, environ={}).server_env()
    assert api_settings(make_context().config, environ={"PREDIRIS_METRICS_PORT": "9200"}).scrape_port == 9200
