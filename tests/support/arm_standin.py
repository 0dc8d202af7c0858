"""A local stand-in of Azure Resource Manager (ARM), Entra ID and an Azure Container Registry front,
for tests that drive the REAL Azure SDK (azure-identity, azure-mgmt-*) over real sockets.

Azure is unreachable from tests, so this server answers the way Azure does and records everything:

    from tests.support.arm_standin import ArmStandIn, SUBSCRIPTION

    with ArmStandIn() as arm:                       # HTTPS on 127.0.0.1:<free port>, self-signed
        client = ContainerAppsAPIClient(arm.credential(), SUBSCRIPTION, base_url=arm.url,
                                        connection_verify=arm.ca_path)
        client.container_apps.get("rg", "app")      # -> 404 ResourceNotFound, like Azure
        arm.requests                                # every request: method, path, query, headers, body
        arm.writes()                                # only PUT/PATCH/POST/DELETE on ARM resources
        arm.resource("/subscriptions/…/containerApps/app")   # the stored JSON of a resource

What it answers (ARM paths are case-insensitive, like Azure's):
- Generic resources: PUT stores the body (adding id/name/type and provisioningState), GET returns it
  or 404 (`ResourceNotFound`, `ResourceGroupNotFound`, `SubscriptionNotFound`), PATCH merges (JSON
  merge patch), DELETE removes, GET of a collection lists the children. A resource in a group needs
  the group to exist. Every ARM request needs `api-version` and a bearer token minted here (else 401).
- Long-running operations: a PUT/PATCH on a type in `long_running` answers 201/202 with an
  `Azure-AsyncOperation` header; polling it answers `InProgress` `poll_rounds` times, then
  `Succeeded` (or `Failed`, see `fail_operation`). No Retry-After is sent: the client's own
  `polling_interval` sets the pace (keep it small in tests).
- Container Apps: a write of `Microsoft.App/containerApps` creates the revision
  `<app>--<template.revisionSuffix>` when the template changed, sets latestRevisionName/Fqdn, the
  ingress fqdn and traffic weights; revisions go `Provisioning` → `Provisioned`/`Healthy` after
  `revision_rounds` GETs (see `new_revisions_become` for unhealthy or failed ones);
  POST …/revisions/<rev>/activate|deactivate; GET …/revisions/<rev>/replicas lists
  `replicas_for(rev)` replicas (see `script_replicas` for a changing count).
- Container Apps fidelity: an app's environment (`environmentId`, or the deprecated
  `managedEnvironmentId`) must exist, and the workload profile it names must be one of that
  environment's `workloadProfiles` (else 400 `WorkloadProfileNotFound`). Secret values are never read
  back (GET shows `configuration.secrets[].name` only), except through POST …/listSecrets, as in Azure.
- Canary support: `arm.serve_revisions_at(name_part, host)` gives new revisions whose name contains
  `name_part` the FQDN `host` (e.g. "127.0.0.1:PORT" of a real server the test runs);
  `arm.revision_requests(name_part, {"2xx": 120, "5xx": 3})` sets what Azure Monitor reports per minute.
- Azure Monitor metrics: GET <resource id>/providers/Microsoft.Insights/metrics answers the
  `Requests` metric of a Container App split by revisionName and statusCodeCategory, one point per
  minute of the `timespan` (the shape azure-monitor-query's MetricsQueryClient reads).
- Log Analytics `sharedKeys`, the registry `checkNameAvailability` (names in `taken_registry_names`
  are taken), role assignments (a second one for the same principal/role/scope is 409
  `RoleAssignmentExists`, like Azure).
- Entra ID (for azure-identity/MSAL through AZURE_AUTHORITY_HOST=arm.url): the tenant's
  openid-configuration and a token endpoint that accepts a client assertion.
- ACR: POST /oauth2/exchange (Entra token → refresh token), /oauth2/token (refresh token → a
  registry JWT signed by `registry_signing_cert`), and /v2/* proxied to `registry_backend` (a real
  `docker-registry` configured with token auth), so `docker login`/`docker push` run for real.

Extending it (another test, e.g. one that polls replicas while load rises):
- `arm.route(method, pattern, handler)`: `handler(request, match)` returns a `Reply`, a dict (200
  JSON) or None to fall through; newest routes win. `pattern` is a regex searched in the lower-cased
  path.
- `arm.fail(method, pattern, status, code, message, times=1, headers=None)`: inject an Azure error
  (401/403/404/409/429/500…) for the next `times` matching requests; `headers` e.g. Retry-After.
- `arm.script_replicas(revision, [1, 1, 3, 5])`: successive GETs of the revision's replicas answer
  these counts (the last one repeats).
- `arm.put_resource(path, body)`: seed an existing resource.

`ArmStandIn(tls=False)` serves plain HTTP instead (Docker fetches registry tokens from it, and
dockerd does not trust our CA).
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import functools
import hashlib
import http.client
import ipaddress
import itertools
import json
import re
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from azure.core.credentials import AccessToken
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
TENANT = "72f988bf-0000-4000-8000-000000000001"
ACR_USERNAME = "00000000-0000-0000-0000-000000000000"

# The types whose writes Azure runs as long-running operations (as far as our code touches them).
LONG_RUNNING = {
    "microsoft.app/containerapps",
    "microsoft.app/managedenvironments",
    "microsoft.containerregistry/registries",
    "microsoft.operationalinsights/workspaces",
}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.monotonic)

    def json(self):
        return json.loads(self.body) if self.body else None

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))

    @property
    def key(self) -> str:
        return self.path.lower().rstrip("/")


@dataclass
class Reply:
    status: int = 200
    body: object = None  # dict/list → JSON; bytes → as is
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern
    reply: Reply
    times: int


@dataclass
class _Operation:
    target: str
    rounds_left: int
    error: dict | None = None
    on_success: Callable[[], None] | None = None


def azure_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    """Return an ARM error reply: {"error": {"code", "message"}}."""
    return Reply(status, {"error": {"code": code, "message": message}}, headers or {})


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _merge_patch(target: dict, patch: dict) -> dict:
    for name, value in patch.items():
        if value is None:
            target.pop(name, None)
        elif isinstance(value, dict) and isinstance(target.get(name), dict):
            _merge_patch(target[name], value)
        else:
            target[name] = copy.deepcopy(value)
    return target


@functools.cache  # one key pair per process: RSA key generation is the slow part of starting a stand-in
def _self_signed(common_name: str, address: str = "127.0.0.1") -> tuple[bytes, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(address))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(ski, False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), key


class ArmStandIn:
    """The stand-in server; use it as a context manager (see the module docstring)."""

    def __init__(self, *, tls: bool = True, subscriptions: Iterable[str] = (SUBSCRIPTION,), tenant: str = TENANT, host: str = "127.0.0.1"):
        self.tls = tls
        self.host = host  # where it listens: another address when a Docker engine on another host must reach it
        self.subscriptions = {s.lower() for s in subscriptions}
        self.tenant = tenant
        self.requests: list[Request] = []
        self.resources: dict[str, dict] = {}
        self.long_running = set(LONG_RUNNING)
        self.poll_rounds = 1
        self.revision_rounds = 1
        self.new_revisions_become = "Healthy"  # or "Unhealthy" (runs but fails probes) or "Failed" (never provisions)
        self.taken_registry_names: set[str] = set()
        self.registry_backend: str | None = None  # e.g. "http://127.0.0.1:5001", a real docker-registry
        self.registry_service = ""  # the `service` the backend registry expects in its tokens
        self._tokens: set[str] = set()
        self._refresh_tokens: set[str] = set()
        self._faults: list[_Fault] = []
        self._routes: list[tuple[str, re.Pattern, Callable]] = []
        self._operations: dict[str, _Operation] = {}
        self._failing_operations: list[tuple[str, re.Pattern, dict]] = []
        self._replica_scripts: dict[str, list[int]] = {}
        self._revision_hosts: dict[str, str] = {}
        self._request_counts: dict[str, dict[str, int]] = {}
        self._revision_polls: dict[str, int] = {}
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._tmp = tempfile.TemporaryDirectory(prefix="arm-standin-")
        cert_pem, self._key = _self_signed("prediris ARM stand-in", host)
        self.ca_path = str(Path(self._tmp.name) / "standin-ca.pem")
        Path(self.ca_path).write_bytes(cert_pem)
        # The registry token signer: docker-registry trusts this certificate (rootcertbundle).
        signer_pem, self._signer = _self_signed("prediris registry token signer")
        self.registry_signing_cert = str(Path(self._tmp.name) / "registry-signer.pem")
        Path(self.registry_signing_cert).write_bytes(signer_pem)
        self._signer_der = x509.load_pem_x509_certificate(signer_pem).public_bytes(serialization.Encoding.DER)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> ArmStandIn:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        """Listen on a free port of `host` (127.0.0.1) and serve in a background thread."""
        standin = self

        class Handler(_Handler):
            arm = standin

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            key_path = Path(self._tmp.name) / "standin-key.pem"
            key_path.write_bytes(
                self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            )
            context.load_cert_chain(self.ca_path, str(key_path))
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="arm-standin", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and remove the temporary certificates."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._tmp.cleanup()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    @property
    def netloc(self) -> str:
        return urlsplit(self.url).netloc

    # ---- credentials -----------------------------------------------------------------------
    def mint_token(self, **claims) -> str:
        """Return a bearer token this stand-in accepts (a JWT-shaped string with tid/oid claims)."""
        body = {"tid": self.tenant, "oid": str(uuid.uuid4()), "aud": "https://management.azure.com/", "exp": int(time.time()) + 3600}
        body.update(claims)
        token = ".".join([_b64url(b'{"alg":"none","typ":"JWT"}'), _b64url(json.dumps(body).encode()), _b64url(b"standin")])
        with self._lock:
            self._tokens.add(token)
        return token

    def credential(self, **claims):
        """Return a TokenCredential (azure-core protocol) whose tokens this stand-in accepts."""
        token = self.mint_token(**claims)

        class StandInCredential:
            def get_token(self, *scopes, **kwargs):
                return AccessToken(token, int(time.time()) + 3600)

            def close(self):
                pass

        return StandInCredential()

    def federated_token(self) -> str:
        """Return a client assertion, as a CI provider's OIDC token would be (accepted as is)."""
        return ".".join(
            [_b64url(b'{"alg":"none"}'), _b64url(json.dumps({"sub": "repo:prediris", "exp": int(time.time()) + 600}).encode()), "x"]
        )

    # ---- behaviour switches ----------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Callable[[Request, re.Match], Reply | dict | None]) -> None:
        """Answer `method` requests whose lower-cased path matches `pattern` with `handler` (newest wins)."""
        with self._lock:
            self._routes.insert(0, (method.upper(), re.compile(pattern), handler))

    def fail(
        self, method: str, pattern: str, status: int, code: str, message: str = "", times: int = 1, headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next `times` matching requests with an Azure error of `status`/`code`."""
        reply = azure_error(status, code, message or f"stand-in {code}", headers)
        with self._lock:
            self._faults.append(_Fault(method.upper(), re.compile(pattern), reply, times))

    def fail_operation(self, pattern: str, code: str, message: str) -> None:
        """Make the next long-running operation on a path matching `pattern` end in `Failed`."""
        with self._lock:
            self._failing_operations.append(("*", re.compile(pattern), {"code": code, "message": message}))

    def script_replicas(self, revision: str, counts: Iterable[int]) -> None:
        """Serve these replica counts on successive GETs of the revision's replicas (the last repeats)."""
        with self._lock:
            self._replica_scripts[revision.lower()] = list(counts)

    def serve_revisions_at(self, name_part: str, host: str) -> None:
        """Give new revisions whose name contains `name_part` the FQDN `host` (a local server's host:port)."""
        with self._lock:
            self._revision_hosts[name_part.lower()] = host

    def revision_requests(self, name_part: str, per_minute: dict[str, int]) -> None:
        """Report these requests per minute, by status code category, for revisions whose name contains `name_part`."""
        with self._lock:
            self._request_counts[name_part.lower()] = dict(per_minute)

    def replicas_for(self, revision: str) -> int:
        """Return the replica count to report now for `revision` (scripted, else its min replicas)."""
        with self._lock:
            script = self._replica_scripts.get(revision.lower())
            if script:
                return script.pop(0) if len(script) > 1 else script[0]
        for path, resource in self.resources.items():
            if path.endswith("/revisions/" + revision.lower()):
                props = resource["properties"]
                if not props.get("active"):
                    return 0
                return int(((props.get("template") or {}).get("scale") or {}).get("minReplicas", 0) or 0)
        return 0

    # ---- inspection ------------------------------------------------------------------------
    def resource(self, path: str) -> dict | None:
        """Return the stored JSON of the resource at `path` (case-insensitive), or None."""
        with self._lock:
            found = self.resources.get(path.lower().rstrip("/"))
            return copy.deepcopy(found)

    def put_resource(self, path: str, body: dict, provisioning_state: str = "Succeeded") -> dict:
        """Store a resource as if it had been created earlier; return it."""
        with self._lock:
            return self._store(path.lower().rstrip("/"), copy.deepcopy(body), provisioning_state, None, path.rstrip("/"))

    def writes(self) -> list[Request]:
        """Return the requests that changed (or tried to change) ARM resources."""
        return [
            r
            for r in self.requests
            if r.method in ("PUT", "PATCH", "DELETE", "POST") and r.key.startswith("/subscriptions/") and not _is_read_action(r.key)
        ]

    def requests_to(self, method: str, pattern: str) -> list[Request]:
        """Return the recorded requests of `method` whose lower-cased path matches `pattern`."""
        regex = re.compile(pattern)
        return [r for r in self.requests if r.method == method.upper() and regex.search(r.key)]

    # ---- dispatch --------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        """Answer one request (called by the HTTP handler; tests may call it too)."""
        with self._lock:
            self.requests.append(request)
            for fault in self._faults:
                if fault.times > 0 and fault.method in (request.method, "*") and fault.pattern.search(request.key):
                    fault.times -= 1
                    return copy.deepcopy(fault.reply)
            routes = list(self._routes)
        for method, pattern, handler in routes:
            match = pattern.search(request.key)
            if match and method in (request.method, "*"):
                answer = handler(request, match)
                if answer is not None:
                    return answer if isinstance(answer, Reply) else Reply(200, answer)
        if request.key.startswith("/v2") and self.registry_backend:
            return self._proxy(request)
        if request.key.startswith("/oauth2/"):
            return self._acr(request)
        if request.key.startswith(f"/{self.tenant.lower()}/") or request.key.startswith("/common/"):
            return self._entra(request)
        if request.key.startswith("/subscriptions/"):
            with self._lock:
                return self._arm(request)
        return azure_error(404, "NotFound", f"the stand-in has no route for {request.method} {request.path}")

    # ---- ARM -------------------------------------------------------------------------------
    def _arm(self, request: Request) -> Reply:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self._tokens:
            return azure_error(
                401, "InvalidAuthenticationToken", "The access token is invalid.", {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            )
        if "api-version" not in request.query:
            return azure_error(
                400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests."
            )
        key = request.key
        parts = key.split("/")
        if parts[2] not in self.subscriptions:
            return azure_error(404, "SubscriptionNotFound", f"The subscription '{parts[2]}' could not be found.")
        if "/operationstatuses/" in key:
            return self._operation_status(key.rsplit("/", 1)[1])
        if request.method == "POST":
            return self._action(request)
        if len(parts) > 4 and parts[3] == "resourcegroups":
            group = "/".join(parts[:5])
            if key != group and group not in self.resources:
                return azure_error(404, "ResourceGroupNotFound", f"Resource group '{parts[4]}' could not be found.")
        if request.method == "GET" and re.search(r"/revisions/[^/]+/replicas$", key):
            return self.replicas_reply(key)
        if request.method == "GET" and key.endswith("/providers/microsoft.insights/metrics"):
            return self._metrics(request)
        if request.method == "GET":
            if key in self.resources:
                return Reply(200, self._read(key))
            if _is_collection(key):
                prefix = key + "/"
                children = [self._read(p) for p in self.resources if p.startswith(prefix) and "/" not in p[len(prefix) :]]
                return Reply(200, {"value": children})
            code = "ResourceGroupNotFound" if _type_of(key) == "microsoft.resources/resourcegroups" else "ResourceNotFound"
            return azure_error(404, code, f"The Resource '{_display_type(key)}/{parts[-1]}' under resource group was not found.")
        if request.method == "DELETE":
            existed = self.resources.pop(key, None)
            return Reply(200 if existed else 204, None)
        if request.method == "PUT":
            return self._put(key, request.json() or {}, request.path.rstrip("/"))
        if request.method == "PATCH":
            if key not in self.resources:
                return azure_error(404, "ResourceNotFound", f"The Resource '{_display_type(key)}/{parts[-1]}' was not found.")
            merged = _merge_patch(copy.deepcopy(self.resources[key]), request.json() or {})
            return self._write(key, merged, existed=True, patch=True, path=request.path.rstrip("/"))
        return azure_error(405, "MethodNotAllowed", f"{request.method} is not supported on {request.path}")

    def _put(self, key: str, body: dict, path: str) -> Reply:
        kind = _type_of(key)
        if kind == "microsoft.app/containerapps":
            props = body.get("properties") or {}
            environment = props.get("environmentId") or props.get("managedEnvironmentId") or ""
            if environment.lower() not in self.resources:
                return azure_error(
                    404, "ManagedEnvironmentNotFound", f"The managed environment '{environment.rsplit('/', 1)[-1]}' was not found."
                )
            profile = props.get("workloadProfileName")
            profiles = [p.get("name", "").lower() for p in self.resources[environment.lower()]["properties"].get("workloadProfiles") or []]
            if profile and profile.lower() not in profiles:
                return azure_error(
                    400, "WorkloadProfileNotFound", f"The workload profile '{profile}' is not in the managed environment ({profiles})."
                )
        if kind == "microsoft.authorization/roleassignments":
            props = body.get("properties", {})
            for other_key, existing in self.resources.items():
                other = existing.get("properties", {})
                if (
                    other_key != key
                    and _type_of(other_key) == kind
                    and other_key.rsplit("/providers/", 1)[0] == key.rsplit("/providers/", 1)[0]
                    and other.get("principalId") == props.get("principalId")
                    and other.get("roleDefinitionId", "").lower() == props.get("roleDefinitionId", "").lower()
                ):
                    return azure_error(409, "RoleAssignmentExists", "The role assignment already exists.")
            body.setdefault("properties", {})["scope"] = key.rsplit("/providers/microsoft.authorization", 1)[0]
        existed = key in self.resources
        if existed and kind != "microsoft.app/containerapps":
            body = _merge_patch(copy.deepcopy(self.resources[key]), body) if kind == "microsoft.resources/resourcegroups" else body
        return self._write(key, body, existed=existed, patch=False, path=path)

    def _write(self, key: str, body: dict, *, existed: bool, patch: bool, path: str) -> Reply:
        kind = _type_of(key)
        long_running = kind in self.long_running
        previous = copy.deepcopy(self.resources.get(key))
        stored = self._store(key, body, "InProgress" if long_running else "Succeeded", previous, path)
        if kind == "microsoft.app/containerapps":
            self._container_app_written(key, stored, previous)
        if not long_running:
            return Reply(200 if existed else 201, self._read(key))
        operation_id = f"op-{next(self._ids)}"
        error = None
        for index, (_, pattern, failure) in enumerate(self._failing_operations):
            if pattern.search(key):
                error = failure
                del self._failing_operations[index]
                break

        def succeed(key=key):
            if key in self.resources:
                self.resources[key].setdefault("properties", {})["provisioningState"] = "Succeeded"

        self._operations[operation_id] = _Operation(key, self.poll_rounds, error, succeed)
        namespace = kind.split("/")[0]
        location = (stored.get("location") or "westeurope").replace(" ", "").lower()
        operation_url = f"{self.url}/subscriptions/{key.split('/')[2]}/providers/{namespace}/locations/{location}/operationStatuses/{operation_id}?api-version=2025-01-01"
        headers = {"Azure-AsyncOperation": operation_url}
        if patch:
            headers["Location"] = operation_url
            return Reply(202, None, headers)
        return Reply(200 if existed else 201, self._read(key), headers)

    def _store(self, key: str, body: dict, provisioning_state: str, previous: dict | None = None, path: str | None = None) -> dict:
        parts = key.split("/")
        body["id"] = (path or key) if previous is None else previous.get("id", path or key)
        body["name"] = body["id"].rsplit("/", 1)[1]
        body["type"] = _display_type(key)
        props = body.setdefault("properties", {})
        props["provisioningState"] = provisioning_state
        kind = _type_of(key)
        if kind == "microsoft.managedidentity/userassignedidentities":
            stable = (previous or {}).get("properties", {})
            props["principalId"] = stable.get("principalId") or str(uuid.uuid4())
            props["clientId"] = stable.get("clientId") or str(uuid.uuid4())
            props["tenantId"] = self.tenant
        elif kind == "microsoft.operationalinsights/workspaces":
            props["customerId"] = (previous or {}).get("properties", {}).get("customerId") or str(uuid.uuid4())
        elif kind == "microsoft.containerregistry/registries":
            props["loginServer"] = f"{parts[-1]}.azurecr.io"
        elif kind == "microsoft.app/managedenvironments":
            props["defaultDomain"] = f"{parts[-1]}-{hashlib.sha256(key.encode()).hexdigest()[:8]}.francecentral.azurecontainerapps.io"
        self.resources[key] = body
        return body

    def _read(self, key: str) -> dict:
        resource = copy.deepcopy(self.resources[key])
        if "/revisions/" in key and _type_of(key) == "microsoft.app/containerapps/revisions":
            self._advance_revision(key)
            resource = copy.deepcopy(self.resources[key])
        if _type_of(key) == "microsoft.app/containerapps":
            for secret in ((resource.get("properties") or {}).get("configuration") or {}).get("secrets") or []:
                secret.pop("value", None)  # Azure never returns a secret's value on GET
        return resource

    def _operation_status(self, operation_id: str) -> Reply:
        operation = self._operations.get(operation_id)
        if operation is None:
            return azure_error(404, "OperationNotFound", f"operation {operation_id} not found")
        if operation.rounds_left > 0:
            operation.rounds_left -= 1
            return Reply(200, {"id": operation_id, "name": operation_id, "status": "InProgress"})
        if operation.error:
            if operation.target in self.resources:
                self.resources[operation.target]["properties"]["provisioningState"] = "Failed"
            return Reply(200, {"id": operation_id, "name": operation_id, "status": "Failed", "error": operation.error})
        if operation.on_success:
            operation.on_success()
            operation.on_success = None
        return Reply(200, {"id": operation_id, "name": operation_id, "status": "Succeeded"})

    def _action(self, request: Request) -> Reply:
        key = request.key
        if key.endswith("/microsoft.containerregistry/checknameavailability"):
            name = (request.json() or {}).get("name", "").lower()
            if name in self.taken_registry_names:
                return Reply(200, {"nameAvailable": False, "reason": "AlreadyExists", "message": f"The registry {name} is already in use."})
            return Reply(200, {"nameAvailable": True})
        if key.endswith("/sharedkeys") and _type_of(key.rsplit("/", 1)[0]) == "microsoft.operationalinsights/workspaces":
            return Reply(200, {"primarySharedKey": "c3RhbmQtaW4ta2V5", "secondarySharedKey": "c2Vjb25k"})
        if key.endswith("/listsecrets") and _type_of(key.rsplit("/", 1)[0]) == "microsoft.app/containerapps":
            app = self.resources.get(key.rsplit("/", 1)[0])
            if app is None:
                return azure_error(404, "ResourceNotFound", f"container app {key.rsplit('/', 2)[-2]} not found")
            secrets = ((app.get("properties") or {}).get("configuration") or {}).get("secrets") or []
            return Reply(200, {"value": [{"name": s["name"], "value": s.get("value")} for s in secrets]})
        match = re.search(r"/revisions/([^/]+)/(activate|deactivate|restart)$", key)
        if match:
            revision_key = key.rsplit("/", 1)[0]
            revision = self.resources.get(revision_key)
            if revision is None:
                return azure_error(404, "ResourceNotFound", f"revision {match.group(1)} not found")
            props = revision["properties"]
            props["active"] = match.group(2) != "deactivate"
            props["runningState"] = "Running" if props["active"] else "Stopped"
            props["replicas"] = int(((props.get("template") or {}).get("scale") or {}).get("minReplicas", 0) or 0) if props["active"] else 0
            return Reply(200, None)
        return azure_error(404, "NotFound", f"the stand-in has no action {request.path}")

    # ---- Container Apps --------------------------------------------------------------------
    def _container_app_written(self, key: str, app: dict, previous: dict | None) -> None:
        props = app["properties"]
        template = props.get("template") or {}
        old_template = ((previous or {}).get("properties") or {}).get("template")
        environment = self.resources.get((props.get("managedEnvironmentId") or props.get("environmentId") or "").lower(), {})
        domain = environment.get("properties", {}).get("defaultDomain", "standin.francecentral.azurecontainerapps.io")
        app_name = app["name"]
        latest = ((previous or {}).get("properties") or {}).get("latestRevisionName")
        if template != old_template or latest is None:
            suffix = template.get("revisionSuffix") or uuid.uuid4().hex[:7]
            latest = f"{app_name}--{suffix}"
            revision_key = f"{key}/revisions/{latest.lower()}"
            host = next((h for part, h in self._revision_hosts.items() if part in latest.lower()), f"{latest}.{domain}")
            self.resources[revision_key] = {
                "id": f"{app['id']}/revisions/{latest}",
                "name": latest,
                "type": "Microsoft.App/containerApps/revisions",
                "properties": {
                    "createdTime": dt.datetime.now(dt.UTC).isoformat(),
                    "fqdn": host,
                    "template": copy.deepcopy(template),
                    "active": True,
                    "replicas": 0,
                    "trafficWeight": 0,
                    "healthState": "None",
                    "provisioningState": "Provisioning",
                    "runningState": "Activating",
                },
            }
            self._revision_polls[revision_key] = self.revision_rounds
            if (props.get("configuration") or {}).get("activeRevisionsMode", "Single").lower() == "single":
                for path, other in self.resources.items():
                    if path.startswith(key + "/revisions/") and path != revision_key:
                        other["properties"].update(active=False, runningState="Stopped", replicas=0)
        props["latestRevisionName"] = latest
        props["latestRevisionFqdn"] = f"{latest}.{domain}"
        ingress = (props.get("configuration") or {}).get("ingress")
        if ingress is not None:
            ingress["fqdn"] = f"{app_name}.{domain}"
        self._apply_traffic(key)

    def _apply_traffic(self, app_key: str) -> None:
        app = self.resources[app_key]["properties"]
        traffic = ((app.get("configuration") or {}).get("ingress") or {}).get("traffic") or [{"latestRevision": True, "weight": 100}]
        weights: dict[str, int] = {}
        for entry in traffic:
            name = (app["latestRevisionName"] if entry.get("latestRevision") else entry.get("revisionName", "")).lower()
            weights[name] = weights.get(name, 0) + int(entry.get("weight", 0))
        for path, revision in self.resources.items():
            if path.startswith(app_key + "/revisions/"):
                revision["properties"]["trafficWeight"] = weights.get(revision["name"].lower(), 0)

    def _advance_revision(self, key: str) -> None:
        left = self._revision_polls.get(key)
        if left is None:
            return
        if left > 0:
            self._revision_polls[key] = left - 1
            return
        del self._revision_polls[key]
        props = self.resources[key]["properties"]
        outcome = self.new_revisions_become
        min_replicas = int(((props.get("template") or {}).get("scale") or {}).get("minReplicas", 0) or 0)
        if outcome == "Failed":
            props.update(
                provisioningState="Failed", healthState="Unhealthy", runningState="Failed", provisioningError="container crashed: exit 1"
            )
        elif outcome == "Unhealthy":
            props.update(provisioningState="Provisioned", healthState="Unhealthy", runningState="Degraded", replicas=min_replicas)
        else:
            props.update(provisioningState="Provisioned", healthState="Healthy", runningState="Running", replicas=min_replicas)
            app_key = key.split("/revisions/", maxsplit=1)[0]
            if app_key in self.resources:
                self.resources[app_key]["properties"]["latestReadyRevisionName"] = self.resources[key]["name"]

    def _metrics(self, request: Request) -> Reply:
        """Answer Azure Monitor's metrics API for a Container App's `Requests` (per revision and status category)."""
        resource_key = request.key.rsplit("/providers/microsoft.insights/metrics", 1)[0]
        resource = self.resources.get(resource_key)
        if resource is None:
            return azure_error(404, "ResourceNotFound", f"The Resource '{resource_key}' was not found.")
        names = [n for n in request.query.get("metricnames", "").split(",") if n]
        if names != ["Requests"] or _type_of(resource_key) != "microsoft.app/containerapps":
            return azure_error(400, "BadRequest", f"Failed to find metric configuration for provider: Microsoft.App, metrics: {names}")
        start_text, _, end_text = request.query.get("timespan", "").partition("/")
        start, end = (
            dt.datetime.fromisoformat(start_text.replace("Z", "+00:00")),
            dt.datetime.fromisoformat(end_text.replace("Z", "+00:00")),
        )
        wanted = re.search(r"revisionname eq '([^']+)'", request.query.get("$filter", ""), re.IGNORECASE)
        minutes = []
        minute = start.replace(second=0, microsecond=0)
        while minute < end and len(minutes) < 1440:
            minutes.append(minute)
            minute += dt.timedelta(minutes=1)
        revisions = [r["name"] for p, r in self.resources.items() if p.startswith(resource_key + "/revisions/")]
        series = []
        for revision in revisions:
            if wanted and wanted.group(1).lower() not in ("*", revision.lower()):
                continue
            counts = next((c for part, c in self._request_counts.items() if part in revision.lower()), {})
            for category, per_minute in counts.items():
                series.append(
                    {
                        "metadatavalues": [
                            {"name": {"value": "revisionname", "localizedValue": "revisionName"}, "value": revision},
                            {"name": {"value": "statuscodecategory", "localizedValue": "statusCodeCategory"}, "value": category},
                        ],
                        "data": [{"timeStamp": m.isoformat().replace("+00:00", "Z"), "total": float(per_minute)} for m in minutes],
                    }
                )
        metric_id = f"{resource['id']}/providers/Microsoft.Insights/metrics/Requests"
        return Reply(
            200,
            {
                "cost": len(minutes),
                "timespan": request.query.get("timespan"),
                "interval": request.query.get("interval", "PT1M"),
                "namespace": "Microsoft.App/containerApps",
                "resourceregion": resource.get("location", "francecentral"),
                "value": [
                    {
                        "id": metric_id,
                        "type": "Microsoft.Insights/metrics",
                        "name": {"value": "Requests", "localizedValue": "Requests"},
                        "displayDescription": "Requests processed",
                        "unit": "Count",
                        "errorCode": "Success",
                        "timeseries": series,
                    }
                ],
            },
        )

    def replicas_reply(self, key: str) -> Reply:
        """Answer GET …/revisions/<rev>/replicas with `replicas_for(rev)` running replicas."""
        revision = key.split("/revisions/")[1].split("/", maxsplit=1)[0]
        count = self.replicas_for(revision)
        value = [
            {
                "id": f"{key}/{revision}-{index}",
                "name": f"{revision}-{index}",
                "type": "Microsoft.App/containerApps/revisions/replicas",
                "properties": {"runningState": "Running", "containers": [{"name": "prediris", "ready": True, "started": True}]},
            }
            for index in range(count)
        ]
        return Reply(200, {"value": value})

    # ---- Entra ID ---------------------------------------------------------------------------
    def _entra(self, request: Request) -> Reply:
        base = f"{self.url}/{self.tenant}"
        if request.key.endswith("/.well-known/openid-configuration"):
            return Reply(
                200,
                {
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                    "issuer": f"{base}/v2.0",
                    "tenant_region_scope": "EU",
                },
            )
        if request.key.endswith("/oauth2/v2.0/token") and request.method == "POST":
            form = request.form()
            if not form.get("client_assertion") and not form.get("client_secret"):
                return Reply(400, {"error": "invalid_client", "error_description": "AADSTS7000216: client_assertion is required."})
            token = self.mint_token(appid=form.get("client_id", ""))
            return Reply(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token})
        return Reply(404, {"error": "not_found", "error_description": f"no Entra route {request.path}"})

    # ---- ACR ---------------------------------------------------------------------------------
    def _acr(self, request: Request) -> Reply:
        if request.key == "/oauth2/exchange" and request.method == "POST":
            form = request.form()
            if form.get("grant_type") != "access_token" or form.get("access_token") not in self._tokens:
                return Reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "invalid or expired Entra ID access token"}]})
            refresh = "acr-refresh-" + uuid.uuid4().hex
            with self._lock:
                self._refresh_tokens.add(refresh)
            return Reply(200, {"refresh_token": refresh})
        if request.key == "/oauth2/token":
            form = request.form() if request.method == "POST" else request.query
            secret = form.get("refresh_token")
            auth = request.headers.get("authorization", "")
            if not secret and auth.startswith("Basic "):
                user, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                if user != ACR_USERNAME:
                    secret = None
            if secret not in self._refresh_tokens:
                return Reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]})
            scopes = request.query.get("scope", "") or form.get("scope", "")
            token = self._registry_jwt(request.query.get("service") or form.get("service", ""), scopes)
            return Reply(200, {"token": token, "access_token": token, "expires_in": 300})
        return Reply(404, {"errors": [{"code": "NOT_FOUND", "message": request.path}]})

    def registry_token(self, scope: str) -> str:
        """Return a registry bearer token for `scope` (e.g. "repository:efreiprediris:pull")."""
        return self._registry_jwt(self.netloc, scope)

    def _registry_jwt(self, service: str, scope: str) -> str:
        access = []
        for item in scope.split():
            kind, _, rest = item.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT", "x5c": [base64.b64encode(self._signer_der).decode()]}
        claims = {
            "iss": "prediris-standin",
            "sub": ACR_USERNAME,
            "aud": service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        signature = self._signer.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(signature)

    def _proxy(self, request: Request) -> Reply:
        backend = urlsplit(self.registry_backend)
        connection = http.client.HTTPConnection(backend.hostname, backend.port, timeout=60)
        try:
            headers = {k: v for k, v in request.headers.items() if k not in ("host", "transfer-encoding", "connection", "content-length")}
            headers["Content-Length"] = str(len(request.body))
            query = "&".join(f"{k}={v}" for k, v in request.query.items())
            connection.request(request.method, request.path + (f"?{query}" if query else ""), body=request.body, headers=headers)
            response = connection.getresponse()
            body = response.read()
            out = {k: v for k, v in response.getheaders() if k.lower() not in ("transfer-encoding", "connection", "content-length")}
            if request.method == "HEAD":
                out["X-Standin-Content-Length"] = response.getheader("Content-Length", "0")
            return Reply(response.status, body, out)
        finally:
            connection.close()


def _is_read_action(key: str) -> bool:
    return key.endswith(("/sharedkeys", "/checknameavailability", "/listcredentials", "/listsecrets"))


def _segments_after_providers(key: str) -> list[str]:
    if "/providers/" not in key:
        return []
    return key.rsplit("/providers/", 1)[1].split("/")


def _type_of(key: str) -> str:
    """Return the lower-cased resource type of an ARM path (resource or collection)."""
    tail = _segments_after_providers(key)
    if not tail:
        parts = key.split("/")
        return (
            "microsoft.resources/resourcegroups"
            if len(parts) >= 4 and parts[3] == "resourcegroups"
            else "microsoft.resources/subscriptions"
        )
    namespace, rest = tail[0], tail[1:]
    types = rest[0::2]
    return "/".join([namespace, *types])


def _is_collection(key: str) -> bool:
    tail = _segments_after_providers(key)
    if not tail:
        return key.count("/") == 3
    return len(tail[1:]) % 2 == 1


_DISPLAY = {
    "microsoft.app/containerapps": "Microsoft.App/containerApps",
    "microsoft.app/containerapps/revisions": "Microsoft.App/containerApps/revisions",
    "microsoft.app/managedenvironments": "Microsoft.App/managedEnvironments",
    "microsoft.containerregistry/registries": "Microsoft.ContainerRegistry/registries",
    "microsoft.operationalinsights/workspaces": "Microsoft.OperationalInsights/workspaces",
    "microsoft.managedidentity/userassignedidentities": "Microsoft.ManagedIdentity/userAssignedIdentities",
    "microsoft.authorization/roleassignments": "Microsoft.Authorization/roleAssignments",
    "microsoft.resources/resourcegroups": "Microsoft.Resources/resourceGroups",
}


def _display_type(key: str) -> str:
    kind = _type_of(key)
    return _DISPLAY.get(kind, kind)


class _Handler(BaseHTTPRequestHandler):
    arm: ArmStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # keep test output clean
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        split = urlsplit(self.path)
        request = Request(
            self.command,
            split.path,
            dict(parse_qsl(split.query, keep_blank_values=True)),
            {k.lower(): v for k, v in self.headers.items()},
            self._read_body(),
        )
        try:
            reply = self.arm.handle(request)
        except Exception as error:  # a stand-in bug must show up as a 500 naming it, not a hung client
            reply = azure_error(500, "StandInError", f"{type(error).__name__}: {error}")
        body = reply.body
        if isinstance(body, dict | list):
            payload = json.dumps(body).encode()
            content_type = "application/json; charset=utf-8"
        else:
            payload = body or b""
            content_type = None
        self.send_response(reply.status)
        headers = dict(reply.headers)
        head_length = headers.pop("X-Standin-Content-Length", None)
        if content_type and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = content_type
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        self.send_header("Content-Length", head_length if self.command == "HEAD" and head_length else str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_PUT = do_PATCH = do_POST = do_DELETE = do_HEAD = _serve
