"""The prediris prediction API: a Flask app factory served by waitress."""

from prediris_api.app import create_app

__all__ = ["create_app"]
