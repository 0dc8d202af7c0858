"""prediris_ops.core.apiconfig: one precedence for where the local API listens: flag, PREDIRIS_*, invoke's configuration."""

from prediris_ops.core.apiconfig import api_settings
from tests.support.config import project_config


def test_without_flags_or_variables_invoke_yaml_decides():
    settings = api_settings(project_config(), environ={})
    assert (settings.host, settings.port, settings.threads, settings.model_dir) == ("127.0.0.1", 5000, None, "models")
    assert settings.server_env() == {"PREDIRIS_HOST": "127.0.0.1", "PREDIRIS_PORT": "5000", "PREDIRIS_MODEL_DIR": "models"}


def test_the_services_variables_beat_invoke_yaml_as_the_service_reads_them():
    environ = {"PREDIRIS_HOST": "0.0.0.0", "PORT": "7000", "PREDIRIS_THREADS": "4", "PREDIRIS_MODEL_DIR": "/srv/models"}
    settings = api_settings(project_config(), environ=environ)
    assert (settings.host, settings.port, settings.threads, settings.model_dir) == ("0.0.0.0", 7000, 4, "/srv/models")
    assert settings.base_url == "http://127.0.0.1:7000"
    # PREDIRIS_PORT beats PORT, as in the service's own settings.
    assert api_settings(project_config(), environ={**environ, "PREDIRIS_PORT": "8000"}).port == 8000


def test_flags_beat_everything():
    settings = api_settings(project_config(), port="5055", host="::1", environ={"PREDIRIS_PORT": "8000", "PREDIRIS_HOST": "0.0.0.0"})
    assert (settings.host, settings.port) == ("::1", 5055)
