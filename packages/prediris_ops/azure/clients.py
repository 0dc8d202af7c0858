"""The Azure credential and the SDK clients, built once per task from the target.

The credential: a CI provider's OIDC token in AZURE_FEDERATED_TOKEN (GitLab `id_tokens`) is exchanged
directly (workload identity federation); otherwise azure-identity's DefaultAzureCredential, which
accepts `az login`, a managed identity and AZURE_FEDERATED_TOKEN_FILE (GitHub, Kubernetes).
"""

import os
from functools import cached_property

from azure.identity import ClientAssertionCredential, DefaultAzureCredential
from azure.mgmt.appcontainers import ContainerAppsAPIClient
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.loganalytics import LogAnalyticsManagementClient
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.monitor.query import MetricsQueryClient

from prediris_ops.azure.target import AzureTarget

# How many times a throttled (429) or failed (5xx) request is retried; azure-core waits what the
# server's Retry-After header says between tries (else an exponential back-off).
RETRIES = 6


def make_credential():
    """Return the credential for this machine: a federated CI token when one is given, else DefaultAzureCredential."""
    token = os.environ.get("AZURE_FEDERATED_TOKEN")
    client_id, tenant_id = os.environ.get("AZURE_CLIENT_ID"), os.environ.get("AZURE_TENANT_ID")
    if token and client_id and tenant_id:
        return ClientAssertionCredential(tenant_id, client_id, lambda: os.environ["AZURE_FEDERATED_TOKEN"])
    return DefaultAzureCredential()


class AzureClients:
    """The management clients for one subscription, made on first use; `options` reach the transport."""

    def __init__(self, target: AzureTarget, credential=None, **options):
        self.target = target
        self.credential = credential if credential is not None else make_credential()
        self.transport = options  # what reaches every client's transport (tests: their CA, a short back-off)
        # A sovereign cloud (or the tests' stand-in) has its own endpoint, and tokens for its audience.
        self.options = {
            "base_url": target.arm_endpoint,
            "credential_scopes": [f"{target.arm_endpoint}/.default"],
            "retry_total": RETRIES,
            "retry_status": RETRIES,  # azure-core retries a 429/5xx only 3 times unless told
            # Between polls of a long-running operation when Azure sends no Retry-After.
            "polling_interval": target.poll_seconds,
            **options,
        }

    def _client(self, client_class):
        return client_class(self.credential, self.target.subscription, **self.options)

    def close(self) -> None:
        """Close the clients made so far (their HTTP connections)."""
        for name in ("apps", "resources", "registries", "workspaces", "identities", "authorization", "metrics"):
            client = self.__dict__.pop(name, None)
            if client is not None:
                client.close()

    def __enter__(self) -> "AzureClients":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @cached_property
    def apps(self):
        return self._client(ContainerAppsAPIClient)

    @cached_property
    def resources(self):
        return self._client(ResourceManagementClient)

    @cached_property
    def registries(self):
        return self._client(ContainerRegistryManagementClient)

    @cached_property
    def workspaces(self):
        return self._client(LogAnalyticsManagementClient)

    @cached_property
    def identities(self):
        return self._client(ManagedServiceIdentityClient)

    @cached_property
    def authorization(self):
        return self._client(AuthorizationManagementClient)

    @cached_property
    def metrics(self):
        """Azure Monitor's metrics API, served by the same ARM endpoint (azure-monitor-query)."""
        endpoint = self.target.arm_endpoint
        return MetricsQueryClient(
            self.credential, endpoint=endpoint, audience=endpoint, retry_total=RETRIES, retry_status=RETRIES, **self.transport
        )

    def arm_token(self) -> str:
        """Return an Entra ID access token for Azure Resource Manager (ACR accepts it for the exchange)."""
        return self.credential.get_token(f"{self.target.arm_endpoint}/.default").token
