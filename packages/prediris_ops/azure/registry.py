"""Azure Container Registry without the `az` CLI: log Docker in with an Entra ID token, push, record the digest.

ACR's own protocol (what `az acr login` does): POST the Entra ID access token to
`https://<registry>/oauth2/exchange` for an ACR refresh token, then `docker login` with the fixed user
00000000-0000-0000-0000-000000000000 and that token as password — given on stdin, never on a command
line, never printed. The pushed digest is recorded, with the build that made the image, so `invoke deploy`
deploys exactly that image and the record says which CI run built it.
"""

import base64
import ipaddress
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from prediris_ops.azure.errors import AzureError
from prediris_ops.core.processes import run

ACR_USERNAME = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class PushedImage:
    registry: str
    image: str
    tag: str
    digest: str
    git_sha: str
    pushed_at: str
    # The build record of the image pushed (image id, commit, the CI run that built and tested it),
    # and the CI run that pushed it: the digest deployed traces back to the build that passed.
    build: dict | None = None
    pushed_by: dict | None = None

    @property
    def reference(self) -> str:
        """The immutable reference deploy uses: <registry>/<image>@sha256:…"""
        return f"{self.registry}/{self.image}@{self.digest}"


def exchange_url(registry: str) -> str:
    """Return the registry's token-exchange URL (plain HTTP only on loopback, as Docker itself does)."""
    host = registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    return f"{'http' if loopback else 'https'}://{registry}/oauth2/exchange"


def tenant_of(access_token: str) -> str | None:
    """Return the tenant id (`tid` claim) of an Entra ID access token, or AZURE_TENANT_ID."""
    try:
        payload = access_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return claims.get("tid") or os.environ.get("AZURE_TENANT_ID")
    except (IndexError, ValueError):
        return os.environ.get("AZURE_TENANT_ID")


def refresh_token(registry: str, access_token: str, timeout: float = 30.0) -> str:
    """Exchange an Entra ID access token for an ACR refresh token."""
    form = {"grant_type": "access_token", "service": registry, "access_token": access_token}
    tenant = tenant_of(access_token)
    if tenant:
        form["tenant"] = tenant
    request = urllib.request.Request(exchange_url(registry), data=urllib.parse.urlencode(form).encode(), method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            token = json.loads(response.read()).get("refresh_token")
    except urllib.error.HTTPError as error:
        error.close()  # the body says no more than the status
        if error.code in (401, 403):
            raise AzureError(
                f"{registry} refused this identity's Entra ID token (HTTP {error.code}): give it the AcrPush role on the registry "
                "(`invoke provision` does for the app's pull identity; for CI: az role assignment create --role AcrPush …)"
            ) from None
        if error.code == 404:
            raise AzureError(
                f"{registry} has no token exchange (HTTP 404): is azure.registry an Azure Container Registry login server?"
            ) from None
        raise AzureError(f"{registry} token exchange failed with HTTP {error.code}; run again later") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise AzureError(f"cannot reach the registry {registry} ({reason}): check azure.registry and the network") from None
    if not token:
        raise AzureError(f"{registry} answered the token exchange without a refresh token")
    return token


def docker_login(docker: str, registry: str, token: str) -> None:
    """Log Docker in to `registry` with an ACR refresh token passed on stdin."""
    result = run(
        [docker, "login", "--username", ACR_USERNAME, "--password-stdin", registry],
        input=token,
        capture=True,
        check=False,
    )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout or "").strip().splitlines()
        raise AzureError(f"docker login to {registry} failed: {detail[-1] if detail else f'status {result.returncode}'}")


def push(docker: str, source: str, registry: str, image: str, tags: list[str]) -> str:
    """Tag `source:<tag>` as `<registry>/<image>:<tag>` for each tag, push them, return the digest."""
    for tag in tags:
        run([docker, "tag", f"{source}:{tag}", f"{registry}/{image}:{tag}"])
        run([docker, "push", f"{registry}/{image}:{tag}"])
    inspected = run([docker, "image", "inspect", "--format", "{{json .RepoDigests}}", f"{registry}/{image}:{tags[0]}"], capture=True)
    prefix = f"{registry}/{image}@"
    for reference in json.loads(inspected.stdout.strip() or "[]"):
        if reference.startswith(prefix):
            return reference[len(prefix) :]
    raise AzureError(f"docker pushed {registry}/{image}:{tags[0]} but reported no digest for it")


def record_push(path: Path, pushed: PushedImage) -> None:
    """Write what was pushed (deploy reads it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**asdict(pushed), "reference": pushed.reference}, indent=2) + "\n")


def last_push(path: Path) -> PushedImage | None:
    """Return the last recorded push, or None when there is none."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    data.pop("reference", None)
    return PushedImage(**data)


def now_utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
