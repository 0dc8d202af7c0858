"""`python -m tests.reliability.gated`: prediris-serve exactly, plus test routes that hold requests.

`/test/gate` holds its request until `/test/gate/open` is called (or `?seconds=N` have passed, or the Unix time `?until=T` has come); `/test/gate/entered` says how many
arrived. "A request in flight" is then an exact state of the real server, not a race. The two control
routes answer in front of prediris's WSGI layer, so they are never shed or counted.
"""

import json
import sys
import threading
import time

from flask import Flask, jsonify, request

from prediris_api import create_app
from prediris_api.serving.server import serve
from prediris_api.settings import Settings

GATE_PATH = "/test/gate"


def build(settings: Settings) -> Flask:
    app = create_app({"settings": settings})
    opened = threading.Event()
    entered = []

    def gate():
        entered.append(1)
        # ?seconds=N: released after N seconds; ?until=T: at the Unix time T (every held request at once).
        until = request.args.get("until")
        opened.wait(max(0.0, float(until) - time.time()) if until else float(request.args.get("seconds", 30)))
        return jsonify(gate="passed")

    app.add_url_rule(GATE_PATH, "gate", gate, methods=["GET", "POST"])
    layer = app.wsgi_app

    def control(environ, start_response):
        path = environ.get("PATH_INFO")
        if path == GATE_PATH + "/open":
            opened.set()
        elif path != GATE_PATH + "/entered":
            return layer(environ, start_response)
        body = json.dumps({"entered": len(entered), "opened": opened.is_set()}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    app.wsgi_app = control
    return app


if __name__ == "__main__":
    sys.exit(serve(Settings.from_env(), build))
