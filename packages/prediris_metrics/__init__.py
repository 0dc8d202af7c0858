"""Prometheus metrics for prediris: declared once (`metrics.py`); the API's WSGI layer moves them."""

from prediris_metrics.metrics import PredirisMetrics, default_metrics

__all__ = ["PredirisMetrics", "default_metrics"]
