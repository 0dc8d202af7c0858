"""The limit of `invoke bench`: a bare WSGI callable answering POST /predict with a constant body,
on granian with exactly prediris's server options (`granian_server`): only the app differs.

Run as `python perf/bench/constant.py` with PREDIRIS_HOST/PREDIRIS_PORT (and the other PREDIRIS_*
server settings) in the environment.
"""

from prediris_api.serving.server import granian_server
from prediris_api.serving.waiting import free_port
from prediris_api.settings import Settings

BODY = (
    b'{"prediction":"setosa","class_id":0,"probabilities":{"setosa":1.0,"versicolor":0.0,"virginica":0.0},"model_version":"000000000000"}'
)
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def app(environ, start_response):
    """Answer every request with the constant, after reading its body (as any server must)."""
    length = environ.get("CONTENT_LENGTH")
    if length:
        environ["wsgi.input"].read(int(length))
    start_response("200 OK", list(HEADERS))
    return [BODY]


if __name__ == "__main__":
    granian_server(Settings.from_env(), free_port()).serve(target_loader=lambda target: app)
