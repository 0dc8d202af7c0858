"""Serving: granian runs the app, through its public Python API only (`prediris-serve`).

- server.py: settings → granian's options, the one-line start-up errors, the entry point;
- drain.py: SIGTERM → readiness off, keep serving for a delay, then stop (granian's own stop);
- layer.py: the WSGI layer every request crosses (metrics, access log, API keys, shedding, /metrics);
- metrics_port.py: /metrics on its own port (waitress's public API);
- waiting.py: the requests waiting in granian's queue, from granian's own metrics exporter;
- accesslog.py: the access-log line.
No module imports a private name of granian, waitress or any other server.
"""
