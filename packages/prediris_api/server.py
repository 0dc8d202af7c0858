"""Serve the app with waitress, production settings, and a clean exit on bad configuration.

`prediris-serve` (and `python -m prediris_api`) read `PREDIRIS_*`/`PORT`, verify the model, and
serve until SIGTERM/SIGINT. A setting or model that cannot work ends the process with one line
on stderr and a non-zero status, never a traceback.
"""

import contextlib
import logging
import signal
import sys

import waitress

from prediris_api import accesslog
from prediris_api.app import create_app
from prediris_api.settings import Settings, SettingsError
from prediris_model import ModelError

log = logging.getLogger("prediris")


def configure_logging(level: str) -> None:
    """One line per record on stderr; waitress's per-task queue warning is noise under load."""
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def waitress_options(settings: Settings) -> dict:
    """Return the waitress settings derived from ours."""
    return {
        "host": settings.host,
        "port": settings.port,
        "threads": settings.threads,
        "connection_limit": settings.connection_limit,
        # A backlog deep enough for a burst of new connections while the loop is busy.
        "backlog": 2048,
        "channel_timeout": settings.channel_timeout_seconds,
        # Backstop only: Flask answers 413 problem+json for anything over max_body_bytes first.
        "max_request_body_size": max(settings.max_body_bytes * 4, 1 << 20),
        "max_request_header_size": 64 * 1024,
        # poll() has no FD_SETSIZE limit: needed past ~1000 open connections.
        "asyncore_use_poll": True,
        "ident": "prediris",
        "clear_untrusted_proxy_headers": True,
    }


def build_server(settings: Settings, app=None):
    """Create (but do not run) the waitress server for `app` (by default, create_app)."""
    app = app if app is not None else create_app({"settings": settings})
    if settings.access_log:
        accesslog.init_app(app)
    return waitress.create_server(app, **waitress_options(settings))


def main(argv: list[str] | None = None) -> int:
    """Entry point: serve until stopped; return the process exit status."""
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"prediris: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        server = build_server(settings)
    except ModelError as error:
        print(f"prediris: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(
            f"prediris: cannot listen on {settings.host}:{settings.port} ({error.strerror}); set PREDIRIS_PORT to a free port",
            file=sys.stderr,
        )
        return 1
    log.info("serving on http://%s:%s with %d threads", server.effective_host, server.effective_port, settings.threads)
    # Docker and Azure stop a container with SIGTERM: leave waitress's loop and exit 0.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0


def _exit_on_sigterm(signum, frame):
    raise SystemExit(0)


if __name__ == "__main__":
    sys.exit(main())
