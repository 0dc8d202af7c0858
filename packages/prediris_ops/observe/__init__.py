"""The local observability stack: Prometheus and node-exporter, natively or with docker compose."""
