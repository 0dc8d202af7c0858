"""Find secrets where they must never be: an image's layers, its history and config, a container's logs.

What is looked for: the names of the secret variables the CI pipelines use (read from the
pipeline files themselves, so a new secret is covered as soon as a pipeline uses it), their values
when the environment holds them (as it does in CI), and the shapes of common credentials.
"""

import fnmatch
import re
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# The pipeline files whose secret variables we know about.
PIPELINE_FILES = (".github/workflows/*.yml", ".github/workflows/*.yaml", ".gitlab-ci.yml", "ci/*.yml", "azure-pipelines.yml")
# Names that are secrets wherever they appear: referenced as `secrets.X` (GitHub), or named like one.
_SECRET_REFERENCE = re.compile(r"secrets\.([A-Z][A-Z0-9_]*)")
_SECRET_LIKE_NAME = re.compile(r"\b([A-Z][A-Z0-9_]*(?:SECRET|TOKEN|PASSWORD|CLIENT_ID|TENANT_ID|SUBSCRIPTION_ID|API_KEY)[A-Z0-9_]*)\b")


@dataclass(frozen=True)
class Shape:
    """A credential shape: its expression, and literals one of which every match contains.

    An expression starting with `\\b` is tried at every byte position (slow over an image's hundreds of
    MB); a literal is found at memory speed. The expression runs only on data holding one of its
    literals: the same findings, sooner.
    """

    literals: tuple[bytes, ...]
    pattern: re.Pattern[bytes]

    def found_in(self, data: bytes) -> bool:
        return any(literal in data for literal in self.literals) and self.pattern.search(data) is not None


SHAPES = {
    # With its base64 body: TLS libraries hold the bare header line as a constant.
    "private key": Shape(
        (b"PRIVATE KEY-----",), re.compile(rb"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----\r?\n[A-Za-z0-9+/=]{40,}")
    ),
    "JSON web token": Shape((b"eyJ",), re.compile(rb"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")),
    "GitHub token": Shape(
        (b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"github_pat_"),
        re.compile(rb"\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{40,}"),
    ),
    "GitLab token": Shape((b"glpat-",), re.compile(rb"\bglpat-[A-Za-z0-9_-]{20,}")),
    "AWS access key": Shape((b"AKIA",), re.compile(rb"\bAKIA[0-9A-Z]{16}\b")),
    "Azure storage or registry key": Shape(
        (b"AccountKey=", b"docker login"), re.compile(rb"AccountKey=[A-Za-z0-9+/=]{40,}|\bdocker login\b[^\n]*(?:-p|--password)\s")
    ),
}
# Files whose credential shapes are known to be public, with why. Only shapes: a secret's name or
# value is never excused.
PUBLIC_SHAPES = {
    "*/libgnutls.so*": "GnuTLS's built-in self-test keys (public test vectors of the Debian library)",
}
# Values shorter than this are too common to mean anything when found.
MIN_VALUE_LENGTH = 8


@dataclass(frozen=True)
class Finding:
    where: str
    what: str


def ci_secret_names(root: Path) -> set[str]:
    """Return the secret variable names the project's CI pipelines use."""
    names: set[str] = set()
    for pattern in PIPELINE_FILES:
        for path in root.glob(pattern):
            text = path.read_text(errors="replace")
            names |= set(_SECRET_REFERENCE.findall(text)) | set(_SECRET_LIKE_NAME.findall(text))
    return names


def needles(names: Iterable[str], environ: dict[str, str]) -> dict[str, bytes]:
    """Return what to search for: each name, and the value of each that the environment holds."""
    found = {f"secret name {name}": name.encode() for name in names}
    for name in names:
        value = environ.get(name, "")
        if len(value) >= MIN_VALUE_LENGTH:
            found[f"value of {name}"] = value.encode()
    return found


def scan_bytes(data: bytes, where: str, wanted: dict[str, bytes]) -> list[Finding]:
    """Return every needle and credential shape found in `data` (shapes in PUBLIC_SHAPES files excepted)."""
    findings = [Finding(where, label) for label, needle in wanted.items() if needle in data]
    if not any(fnmatch.fnmatch(where, pattern) for pattern in PUBLIC_SHAPES):
        findings += [Finding(where, label) for label, shape in SHAPES.items() if shape.found_in(data)]
    return findings


def _files(archive: tarfile.TarFile, prefix: str) -> Iterator[tuple[str, bytes]]:
    for member in archive:
        if not member.isfile():
            continue
        if member.name.endswith(".tar"):  # a layer of a `docker save` archive
            with tarfile.open(fileobj=archive.extractfile(member)) as layer:
                yield from _files(layer, f"{prefix}{member.name}:")
        else:
            content = archive.extractfile(member)
            if content is not None:  # None only for what is not a regular file
                yield f"{prefix}{member.name}", content.read()


def scan_image_archive(path: Path, wanted: dict[str, bytes]) -> list[Finding]:
    """Scan every file of every layer, and the image's config and manifest, in a `docker save` archive."""
    findings = []
    with tarfile.open(path) as archive:
        for where, data in _files(archive, ""):
            findings += scan_bytes(data, where, wanted)
    return findings
