"""Azure's errors as ONE line each, naming the fix: not logged in, no subscription, a missing
permission (which role, on what scope), quota or capacity, a registry name already taken,
throttling that outlasted the retries, and anything else Azure refuses."""

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

from prediris_ops.azure.clients import RETRIES
from prediris_ops.core.errors import OpsError

LOGIN_HINT = (
    "on a laptop run `az login` (and `az account set -s <subscription>`); in CI set AZURE_CLIENT_ID, AZURE_TENANT_ID and "
    "AZURE_SUBSCRIPTION_ID and give the job an OIDC token (GitHub: permissions id-token: write + azure/login; "
    "GitLab: id_tokens AZURE_FEDERATED_TOKEN; Azure DevOps: a workload-identity service connection)"
)
QUOTA_CODES = ("quota", "capacity", "limitexceeded", "skunotavailable", "exceeded")
REGISTRY_TAKEN_CODES = ("alreadyinuse", "registrynameinuse", "namenotavailable", "registrynamenotavailable")
_AUTHORIZATION = re.compile(r"perform action '(?P<action>[^']+)' over scope '(?P<scope>[^']+)'", re.IGNORECASE)


class AzureError(OpsError):
    """A failure described in one line: our own checks (e.g. a taken registry name), or Azure's errors translated."""


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _code_and_message(error: HttpResponseError) -> tuple[str, str]:
    code = getattr(getattr(error, "error", None), "code", None) or ""
    message = getattr(getattr(error, "error", None), "message", None) or ""
    if not code and error.response is not None:
        try:
            body = json.loads(error.response.text())
        except (ValueError, TypeError):
            body = {}
        inner = body.get("error", body) if isinstance(body, dict) else {}
        code, message = inner.get("code", "") or "", inner.get("message", "") or ""
    return code, message or error.reason or str(error)


def _required_role(action: str) -> str:
    if action.lower().startswith("microsoft.authorization/"):
        return "User Access Administrator (or Owner)"
    if action.lower().startswith("microsoft.managedidentity/userassignedidentities/assign"):
        return "Managed Identity Operator (or Contributor)"
    return "Contributor"


def describe(error: BaseException, location: str = "") -> str:
    """Return the one line a user needs for `error` (an azure-core/azure-identity exception)."""
    if isinstance(error, AzureError):
        return _one_line(str(error), 500)
    if isinstance(error, ClientAuthenticationError) and getattr(error, "response", None) is None:
        return f"not logged in to Azure ({_one_line(error.message, 120)}): {LOGIN_HINT}"
    if isinstance(error, ServiceRequestError):
        return f"cannot reach Azure ({_one_line(error.message, 160)}): check the network, HTTPS_PROXY and REQUESTS_CA_BUNDLE"
    if not isinstance(error, HttpResponseError):
        return _one_line(f"{type(error).__name__}: {error}")
    status = error.status_code or 0
    code, message = _code_and_message(error)
    lowered = code.lower()
    request = getattr(error.response, "request", None)
    where = f"{request.method} {re.sub(r'^https?://[^/]+', '', request.url).split('?')[0]}" if request is not None else "a request"
    if status == 401:
        return f"Azure rejected the credential (HTTP 401 {code}: {_one_line(message, 120)}): sign in again — {LOGIN_HINT}"
    if lowered in ("subscriptionnotfound", "invalidsubscriptionid"):
        return (
            f"subscription not found or not visible to this identity ({_one_line(message, 160)}): "
            "check AZURE_SUBSCRIPTION_ID (`az account list -o table`)"
        )
    if status == 403 or lowered in ("authorizationfailed", "linkedauthorizationfailed"):
        found = _AUTHORIZATION.search(message)
        if found:
            action, scope = found.group("action"), found.group("scope")
            role = _required_role(action)
            return (
                f"permission denied: this identity may not {action} on {scope}: grant it the {role} role on that scope "
                f'(`az role assignment create --assignee <its object id> --role "{role.split(" (")[0]}" --scope {scope}`)'
            )
        return (
            f"permission denied (HTTP 403 {code}) on {where}: {_one_line(message, 200)} — "
            "grant the identity the Contributor role on the resource group"
        )
    if any(mark in lowered for mark in REGISTRY_TAKEN_CODES) or (status == 409 and "already in use" in message.lower()):
        return (
            f"the registry name is already taken ({_one_line(message, 160)}): registry names are global; "
            "set azure.registry to another <name>.azurecr.io"
        )
    if any(mark in lowered for mark in QUOTA_CODES):
        where_location = f" in {location}" if location else ""
        return (
            f"quota or capacity reached{where_location} ({code}: {_one_line(message, 200)}): choose another azure.location, "
            "lower azure.max_replicas, or ask for more quota (portal: Subscriptions → Usage + quotas)"
        )
    if status == 429:
        retry_after = getattr(error.response, "headers", {}).get("Retry-After")
        wait = f"{retry_after} s" if retry_after else "a few minutes"
        return (
            f"Azure throttled {where} (HTTP 429 {code}) and {RETRIES} retries honouring Retry-After did not clear it: "
            f"wait {wait} and run again"
        )
    if lowered == "resourcegroupnotfound" or (status == 404 and "resourcegroup" in message.lower().replace(" ", "")):
        return f"{_one_line(message, 160)}: run `invoke provision` first"
    if status == 404:
        return f"not found: {where} ({code}: {_one_line(message, 160)}) — run `invoke provision` to create what deploy needs"
    if status >= 500:
        return (
            f"Azure failed on {where} (HTTP {status} {code}: {_one_line(message, 160)}) after {RETRIES} retries: "
            "a fault on Azure's side; run again later"
        )
    return f"Azure refused {where} (HTTP {status} {code}): {_one_line(message, 240)}"


@contextmanager
def azure_errors(location: str = "") -> Iterator[None]:
    """Turn Azure SDK errors raised inside the block into a one-line AzureError (status 1)."""
    try:
        yield
    except (AzureError, ClientAuthenticationError, ServiceRequestError, HttpResponseError) as error:
        raise AzureError(describe(error, location), code=1) from None
