"""The one error the Kubernetes layer raises: a failure already described in one line, naming the fix."""


class KubernetesError(Exception):
    """A missing kubeconfig, kubectl or CRD, a failed kubectl command or smoke test, in one line."""


class SetupError(KubernetesError):
    """What must be set up before a deploy: kubectl, a kubeconfig, an overlay, a CRD in the cluster."""
