"""A stand-in docker client for the client probe tests."""

import sys
from pathlib import Path

import pytest


@pytest.fixture
def fake_docker(tmp_path):
    """Return a factory: fake_docker(version, buildx=False) writes an executable docker client stand-in.

    It answers `version --format ...` with `version` and `buildx version` with success only when asked,
    which is all the client probe looks at.
    """

    def factory(version: str, buildx: bool = False, name: str = "docker") -> Path:
        path = tmp_path / name
        path.write_text(
            f"#!{sys.executable}\n"
            "import sys\n"
            "args = sys.argv[1:]\n"
            f"if args[:1] == ['version']:\n    print({version!r}); sys.exit(0)\n"
            f"if args[:2] == ['buildx', 'version']:\n    sys.exit(0 if {buildx} else 1)\n"
            "sys.exit(2)\n"
        )
        path.chmod(0o755)
        return path

    return factory
