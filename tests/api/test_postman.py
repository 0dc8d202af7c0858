"""The Postman collection (docs/postman/) passes against the live API, run by newman."""

import json
import re
import shutil
import subprocess

import pytest

from prediris_ops.apidocs import postman
from prediris_ops.core import npmtools
from tests.support.servers import running_api
from tests.support.tools import missing

API_KEY = "postman-run-key-0123456789"


def requests_in(collection: dict) -> int:
    return len(list(postman.requests(collection["item"])))


@pytest.mark.e2e
def test_every_request_of_the_collection_passes_against_the_real_server_with_keys(model_dir, tmp_path):
    if shutil.which("node") is None or shutil.which("npm") is None:
        missing("node and npm are needed for newman (apt-get install nodejs npm)")
    try:
        postman.newman_argv("http://127.0.0.1", API_KEY)  # installs newman before the server starts
    except npmtools.NpmToolError as error:
        missing(str(error))
    with running_api(model_dir, tmp_path / "server.log", api_keys=API_KEY) as (base, _):
        result = subprocess.run(postman.newman_argv(base, API_KEY), capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    executed, failed = map(int, re.search(r"requests\s*\|\s*(\d+)\s*\|\s*(\d+)", result.stdout).groups())
    assert (executed, failed) == (requests_in(json.loads(postman.COLLECTION_PATH.read_text())), 0)
    assert API_KEY not in (tmp_path / "server.log").read_text()
