"""The one error the Kubernetes layer raises: a failure already described in one line, naming the fix."""

from prediris_ops.core.errors import OpsError


class KubernetesError(OpsError):
    """A missing kubeconfig, kubectl or CRD, a failed kubectl command or smoke test, in one line."""


class SetupError(KubernetesError):
    """What must be set up before a deploy: kubectl, a kubeconfig, an overlay, a CRD in the cluster."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message, code)
