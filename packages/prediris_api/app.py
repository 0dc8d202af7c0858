"""The Flask application factory: settings, the verified model, codecs, routes, and the WSGI layer
(metrics, access log, API keys, shedding: serving/layer.py) that every request crosses."""

import logging
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

import sklearn
from flask import Flask
from flask.json.provider import DefaultJSONProvider

import prediris_model
from prediris_api import auth
from prediris_api.protocol import problems
from prediris_api.protocol.codecs import PredictDecoder, PredictEncoder
from prediris_api.protocol.problems import PROBLEM_TYPES
from prediris_api.routes import BLUEPRINTS, v2
from prediris_api.runtime.model import ModelRuntime
from prediris_api.service import EXTENSION, Service
from prediris_api.serving.layer import SHED_REASONS, ServiceLayer, problem_counter
from prediris_api.settings import Settings
from prediris_metrics import PredirisMetrics, default_metrics

log = logging.getLogger("prediris")
_SETTING_NAMES = {item.name for item in fields(Settings)}


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. `test_config` may hold Settings fields (lower case), Flask keys (upper case),
    `settings` (a whole Settings) and `metrics` (a PredirisMetrics bound to a test registry)."""
    test_config = dict(test_config or {})
    settings = test_config.pop("settings", None) or Settings.from_env(
        **{key: test_config.pop(key) for key in list(test_config) if key in _SETTING_NAMES}
    )
    metrics = test_config.pop("metrics", None) or default_metrics()

    app = Flask(__name__)
    # Flask answers 413 past this size for a body without Content-Length (chunked); the WSGI layer
    # refuses an announced one before reading it.
    app.config.from_mapping(MAX_CONTENT_LENGTH=settings.max_body_bytes)
    app.config.update(test_config)
    assert isinstance(app.json, DefaultJSONProvider)  # Flask's own: the one with these two settings
    app.json.sort_keys = False
    app.json.compact = True

    loaded = prediris_model.load(settings.model_dir, settings.model_sha256 or None)
    runtime = ModelRuntime(loaded, kernel=settings.model_kernel)
    app.extensions[EXTENSION] = Service(
        settings=settings,
        runtime=runtime,
        decoder=PredictDecoder(runtime.feature_names, settings.max_batch_rows),
        encoder=PredictEncoder(runtime.class_names, runtime.version),
        metrics=metrics,
    )

    auth.prepare_metrics(metrics)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    problems.init_app(app, on_problem=problem_counter(metrics), renderers={v2.bp.name: v2.error_response})
    _describe_model(metrics, runtime, app)
    # With a metrics port, /metrics is served there only (serving/metrics_port.py): 404 here.
    app.wsgi_app = ServiceLayer(app, serve_metrics=not settings.metrics_port)  # type: ignore[method-assign]  # Flask's way to wrap its WSGI app
    log.info("model %s version %s loaded and verified from %s", loaded.card["name"], runtime.version, loaded.path)
    return app


def _describe_model(metrics: PredirisMetrics, runtime: ModelRuntime, app: Flask) -> None:
    metrics.model_info.clear()
    metrics.model_info.labels(
        runtime.card["name"], runtime.version, sklearn.__version__, runtime.card.get("versions", {}).get("scikit-learn", "unknown")
    ).set(1)
    routes = [
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        if rule.rule in ("/predict", "/health/live", "/health/ready", "/v2/models/<name>/infer")
    ]
    invalid = [slug for slug, kind in PROBLEM_TYPES.items() if kind.status < 500 and slug not in (*SHED_REASONS, auth.PROBLEM_SLUG)]
    metrics.prepare(runtime.class_names, runtime.feature_names, invalid, SHED_REASONS, routes)
    metrics.prepare_drift(runtime.version, runtime.card.get("drift_reference"), enabled=app.extensions[EXTENSION].settings.drift_metrics)
