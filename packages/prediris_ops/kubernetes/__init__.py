"""Kubernetes for prediris, with kubectl and kustomize (never a client library): the layer that puts
invoke.yaml's settings and the pushed digest over an overlay of deploy/kubernetes/, the kubectl
commands of a deploy (apply, rollout status, smoke test), and the ScaledObject's KEDA trigger."""
