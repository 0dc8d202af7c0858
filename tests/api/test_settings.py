"""Settings: defaults in one place, PREDIRIS_* and PORT override them, bad values are named."""

import pytest

from prediris_api.settings import Settings, SettingsError


def test_defaults():
    settings = Settings.from_env({})
    assert (settings.host, settings.port, settings.max_body_bytes, settings.max_batch_rows) == ("127.0.0.1", 5000, 65536, 1000)
    assert settings.connection_limit > 100


def test_environment_overrides_defaults_and_predris_port_beats_port():
    assert Settings.from_env({"PORT": "8080"}).port == 8080
    assert Settings.from_env({"PORT": "8080", "PREDIRIS_PORT": "9090"}).port == 9090
    assert Settings.from_env({"PREDIRIS_THREADS": "4", "PREDIRIS_ACCESS_LOG": "yes"}).threads == 4
    assert Settings.from_env({"PREDIRIS_ACCESS_LOG": "yes"}).access_log is True


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PREDIRIS_THREADS": "many"}, "PREDIRIS_THREADS='many' is not an integer"),
        ({"PORT": "70000"}, "is not a TCP port"),
        ({"PREDIRIS_THREADS": "0"}, "PREDIRIS_THREADS=0 must be at least 1"),
        ({"PREDIRIS_ACCESS_LOG": "maybe"}, "is not a boolean"),
        ({"PREDIRIS_SHUTDOWN_GRACE_SECONDS": "soon"}, "is not a number"),
        ({"PREDIRIS_METRICS_PORT": "70000"}, "PREDIRIS_METRICS_PORT=70000 is not a TCP port"),
        ({"PREDIRIS_EXPOSE_RUNTIME": "maybe"}, "PREDIRIS_EXPOSE_RUNTIME='maybe' is not a boolean"),
        ({"PREDIRIS_API_KEYS": " , "}, "PREDIRIS_API_KEYS holds no key"),
    ],
)
def test_bad_values_name_the_variable(environ, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(environ)


def test_api_keys_are_split_on_commas_and_never_shown_in_the_settings_repr():
    settings = Settings.from_env({"PREDIRIS_API_KEYS": " alpha-key ,beta-key,"})
    assert settings.api_key_list == ("alpha-key", "beta-key")
    assert "alpha-key" not in repr(settings)


def test_the_public_surface_defaults_suit_a_laptop():
    settings = Settings.from_env({})
    assert (settings.metrics_port, settings.expose_runtime, settings.api_key_list) == (0, True, ())
