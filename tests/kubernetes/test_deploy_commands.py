"""The apply path of `invoke deploy --platform kubernetes`, with a MockContext standing in for the cluster
(the rendering itself is real: test_manifests.py): what the cluster is asked to apply, the smoke test
against a real API, and one line naming the fix for each missing piece."""

import base64
import shlex

import pytest
import yaml
from invoke import MockContext, Result

from prediris_ops.kubernetes import kubectl as k
from prediris_ops.kubernetes import rollout
from prediris_ops.kubernetes.deploy import workload
from prediris_ops.kubernetes.errors import KubernetesError, SetupError
from prediris_ops.kubernetes.layer import write_layer
from tests.kubernetes.conftest import REFERENCE, invoke
from tests.support.config import project_config
from tests.support.servers import running_api

KUBECTL = k.Kubectl("/opt/bin/kubectl", context="aks-prod")
NOT_FOUND = 'Error from server (NotFound): customresourcedefinitions.apiextensions.k8s.io "scaledobjects.keda.sh" not found'
SECRET = ("get", "secret", "prediris-api-keys", "--namespace", "prediris", "--ignore-not-found", "--output", "jsonpath={.data.keys}")
KEYS = "deploy-key-0123456789,next-key-0123456789"


def command(*args: str) -> str:
    return shlex.join(KUBECTL.argv(*args))


@pytest.fixture
def layer(tmp_path):
    return write_layer("aks", tmp_path, workload(MockContext(config=project_config())), REFERENCE)


def cluster(layer, manifests: str, **answers: Result) -> MockContext:
    """A MockContext answering the deploy's kubectl commands (success unless `answers` says otherwise)."""
    run = {
        command("kustomize", str(layer)): Result(stdout=manifests),
        command("get", "customresourcedefinition", "podmonitors.monitoring.coreos.com", "--output", "name"): Result(
            stdout="customresourcedefinition.apiextensions.k8s.io/podmonitors.monitoring.coreos.com\n"
        ),
        command("get", "customresourcedefinition", "scaledobjects.keda.sh", "--output", "name"): answers.get(
            "keda", Result(stdout="customresourcedefinition.apiextensions.k8s.io/scaledobjects.keda.sh\n")
        ),
        command(*SECRET): answers.get("secret", Result(stdout="")),
        command("apply", "--server-side", "--field-manager=prediris", "--kustomize", str(layer)): Result(
            stdout="deployment.apps/prediris serverside-applied\n"
        ),
        command("rollout", "status", "deployment/prediris", "--namespace", "prediris", "--timeout=600s"): answers.get(
            "rollout", Result(stdout='deployment "prediris" successfully rolled out\n')
        ),
        command(
            "get",
            "service",
            "prediris",
            "--namespace",
            "prediris",
            "--output",
            "jsonpath={.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname}",
        ): answers.get("address", Result(stdout="127.0.0.1")),
    }
    return MockContext(config=project_config(), run=run)


def manifests_with_service_port(render, port: int) -> str:
    """The aks overlay as rendered, its LoadBalancer Service on `port` (where the real test API listens)."""
    objects = render("aks")
    k.the(objects, "Service")["spec"]["ports"][0]["port"] = port
    return yaml.safe_dump_all(objects)


def test_deploy_renders_checks_the_crds_applies_server_side_waits_and_smoke_tests_the_service(render, layer, model_dir, tmp_path):
    with running_api(model_dir, tmp_path / "api.log") as (base_url, _process):
        port = int(base_url.rsplit(":", 1)[1])
        c = cluster(layer, manifests_with_service_port(render, port))
        lines = []
        deployed = rollout.deploy(c, KUBECTL, layer, rollout_timeout=600, log=lines.append)
    asked = [shlex.split(call.args[0]) for call in c.run.call_args_list]
    # Every command goes to the configured context; the layer is applied once, server-side, by prediris.
    assert all(argv[1:3] == ["--context", "aks-prod"] for argv in asked)
    assert [argv[3:] for argv in asked if argv[3] == "apply"] == [
        ["apply", "--server-side", "--field-manager=prediris", "--kustomize", str(layer)]
    ]
    # Progress is visible: kubectl's own apply and rollout lines reach the terminal.
    shown = {call.args[0]: call.kwargs["hide"] for call in c.run.call_args_list}
    assert shown[command("rollout", "status", "deployment/prediris", "--namespace", "prediris", "--timeout=600s")] is False
    assert deployed == rollout.Deployed("prediris", "prediris", f"http://127.0.0.1:{port}")
    # The smoke test reached the real API behind the Service, and every check passed.
    checks = [line for line in lines if line.startswith(("  ok ", "  FAIL"))]
    assert checks and all(line.startswith("  ok ") for line in checks)
    assert any("predicts virginica" in line for line in checks)


def test_a_cluster_without_keda_stops_before_applying_with_the_install_line(render, layer):
    c = cluster(layer, yaml.safe_dump_all(render("aks")), keda=Result(stderr=NOT_FOUND + "\n", exited=1))
    with pytest.raises(
        SetupError, match=r"^the cluster has no scaledobjects.keda.sh CRD for the ScaledObject: KEDA is not installed: helm"
    ):
        rollout.deploy(c, KUBECTL, layer, rollout_timeout=600, log=lambda line: None)
    assert not [call for call in c.run.call_args_list if " apply " in call.args[0]]


def test_an_unreachable_cluster_is_not_mistaken_for_a_missing_crd(render, layer):
    refused = Result(stderr="The connection to the server 10.0.0.1:443 was refused - did you specify the right host or port?\n", exited=1)
    c = cluster(layer, yaml.safe_dump_all(render("aks")), keda=refused)
    with pytest.raises(KubernetesError, match=r"cannot ask the cluster for the scaledobjects.keda.sh CRD \(The connection .* refused"):
        rollout.deploy(c, KUBECTL, layer, rollout_timeout=600, log=lambda line: None)


def test_a_rollout_that_does_not_finish_fails_with_kubectl_s_reason(render, layer):
    stuck = Result(stderr='error: deployment "prediris" exceeded its progress deadline\n', exited=1)
    c = cluster(layer, yaml.safe_dump_all(render("aks")), rollout=stuck)
    with pytest.raises(
        KubernetesError,
        match=r"^`kubectl rollout status deployment/prediris …` failed with status 1: error: deployment .* progress deadline",
    ):
        rollout.deploy(c, KUBECTL, layer, rollout_timeout=600, log=lambda line: None)


def test_kubeconfig_is_found_where_kubectl_looks(tmp_path):
    config = tmp_path / "config"
    assert not k.kubeconfig_present({"KUBECONFIG": str(config)}, home=tmp_path)
    config.write_text("apiVersion: v1\n")
    assert k.kubeconfig_present({"KUBECONFIG": f"{tmp_path / 'none'}:{config}"}, home=tmp_path)
    assert not k.kubeconfig_present({}, home=tmp_path)
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "config").write_text("apiVersion: v1\n")
    assert k.kubeconfig_present({}, home=tmp_path)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ([], {"KUBECONFIG": "/nonexistent/kubeconfig"}, "no kubeconfig: for AKS `az aks get-credentials"),
        (
            ["--dry-run"],
            {"INVOKE_KUBERNETES_KUBECTL": "kubectl-not-installed"},
            "kubectl-not-installed is not on PATH: pip install -e '.[deploy]'",
        ),
        (["--dry-run", "--overlay", "gke"], {}, "no kustomize overlay 'gke' in deploy/kubernetes/overlays: use one of aks, local"),
        (["--image", "efreiprediction.azurecr.io/efreiprediris:latest"], {}, "is a mutable tag: pass a digest reference"),
    ],
)
def test_what_is_missing_stops_the_task_with_one_line_naming_the_fix(pushed, args, env, message):
    result = invoke("deploy", "--platform", "kubernetes", *args, env={**pushed, **env})
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_without_the_api_key_secret_the_deploy_says_in_one_line_that_predictions_are_open(render, layer, model_dir, tmp_path):
    with running_api(model_dir, tmp_path / "api.log") as (base_url, _process):
        c = cluster(layer, manifests_with_service_port(render, int(base_url.rsplit(":", 1)[1])))
        lines = []
        rollout.deploy(c, KUBECTL, layer, rollout_timeout=600, log=lines.append)
    assert lines[0] == (
        "API keys: no Secret prediris/prediris-api-keys: /predict and V2 inference will answer anyone who reaches the Service; "
        "to require keys: kubectl create secret generic prediris-api-keys --namespace prediris --from-literal=keys=<key>[,<key>] "
        "(16+ characters each), then kubectl rollout restart deployment/prediris --namespace prediris"
    )
    # The secret is read without echo: its command's output is hidden.
    assert {call.args[0]: call.kwargs["hide"] for call in c.run.call_args_list}[command(*SECRET)] is True


def test_with_the_secret_the_smoke_test_predicts_with_its_first_key_and_never_shows_it(render, layer, model_dir, tmp_path):
    secret = Result(stdout=base64.b64encode(KEYS.encode()).decode())
    with running_api(model_dir, tmp_path / "api.log", api_keys=KEYS) as (base_url, _process):
        c = cluster(layer, manifests_with_service_port(render, int(base_url.rsplit(":", 1)[1])), secret=secret)
        lines = []
        rollout.deploy(c, KUBECTL, layer, rollout_timeout=600, log=lines.append)
    text = "\n".join(lines)
    assert "ok   predicts virginica" in text and "API keys: no Secret" not in text
    assert "deploy-key" not in text and "next-key" not in text


def test_a_secret_holding_a_key_the_pods_would_refuse_stops_the_deploy_before_applying(render, layer):
    secret = Result(stdout=base64.b64encode(b"deploy-key-0123456789,short").decode())
    c = cluster(layer, yaml.safe_dump_all(render("aks")), secret=secret)
    with pytest.raises(
        SetupError, match=r"^Secret prediris/prediris-api-keys: the pods would refuse to start: PREDIRIS_API_KEYS: key 2 of 2 is shorter"
    ):
        rollout.deploy(c, KUBECTL, layer, rollout_timeout=600, log=lambda line: None)
    assert not [call for call in c.run.call_args_list if " apply " in call.args[0]]
