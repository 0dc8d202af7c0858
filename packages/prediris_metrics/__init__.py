"""Prometheus metrics for prediris: declared once (`metrics.py`), wired into Flask by `init_app`."""

from prediris_metrics.hooks import init_app
from prediris_metrics.metrics import PredirisMetrics, default_metrics

__all__ = ["PredirisMetrics", "default_metrics", "init_app"]
