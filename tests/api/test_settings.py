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
        ({"PREDIRIS_MAX_IN_FLIGHT": "32", "PREDIRIS_THREADS": "32"}, "PREDIRIS_MAX_IN_FLIGHT=32 can never shed with 32 threads"),
        ({"PREDIRIS_HEADER_TIMEOUT_SECONDS": "90"}, "PREDIRIS_HEADER_TIMEOUT_SECONDS=90 must be between 1 and 60"),
        ({"PREDIRIS_DRAIN_DELAY_SECONDS": "-1"}, "PREDIRIS_DRAIN_DELAY_SECONDS=-1.0 must not be negative"),
    ],
)
def test_bad_values_name_the_variable(environ, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(environ)


def test_api_keys_are_split_on_commas_and_never_shown_in_the_settings_repr():
    settings = Settings.from_env({"PREDIRIS_API_KEYS": " alpha-key-0123456789 ,beta-key-0123456789,"})
    assert settings.api_key_list == ("alpha-key-0123456789", "beta-key-0123456789")
    assert "alpha-key-0123456789" not in repr(settings)


def test_the_public_surface_defaults_suit_a_laptop():
    settings = Settings.from_env({})
    assert (settings.metrics_port, settings.expose_runtime, settings.api_key_list) == (0, True, ())


@pytest.mark.parametrize("keys", ["fifteen-chars-k", "long-enough-key-0123, tiny"], ids=["one-short-key", "one-of-two"])
def test_a_key_shorter_than_16_characters_stops_the_start_in_one_line_that_never_shows_it(keys):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"PREDIRIS_API_KEYS": keys})
    message = str(raised.value)
    assert message.startswith("PREDIRIS_API_KEYS: key ") and "shorter than 16 characters" in message and "secrets.token_urlsafe" in message
    assert "\n" not in message and "fifteen" not in message and "tiny" not in message
    assert Settings.from_env({"PREDIRIS_API_KEYS": "sixteen-chars-ky"}).api_key_list == ("sixteen-chars-ky",)
