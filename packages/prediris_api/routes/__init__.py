"""The API's blueprints, one module per group of routes."""

from prediris_api.routes import docs, health, model, predict, v2

BLUEPRINTS = (predict.bp, health.bp, model.bp, docs.bp, v2.bp)
