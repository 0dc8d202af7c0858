"""The rendered manifests, checked offline: core kinds by kubernetes-validate at stated Kubernetes
versions, the KEDA ScaledObject and the PodMonitor against their projects' CRD schemas (vendored in
data/crds/), and what the issue asks of them (digest, probes, hardening, resources, scaling)."""

import copy
import math

import jsonschema
import kubernetes_validate
import pytest
import yaml

from prediris_api.settings import Settings
from prediris_ops.azure.containerapp import container_app
from prediris_ops.azure.target import target_from_config
from prediris_ops.kubernetes import kubectl as k
from tests.kubernetes.conftest import DATA, DIGEST
from tests.support.config import project_config

# The oldest Kubernetes the manifests claim (the preStop `sleep` action is on by default since 1.30;
# AKS's oldest supported line), and the newest schemas kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.33.0", "1.37.0")
OVERLAYS = ("aks", "local")
CORE_KINDS = {"Namespace", "Service", "Deployment", "PodDisruptionBudget", "NetworkPolicy"}


def crd_schema(kind: str) -> tuple[str, dict]:
    """Return (apiVersion, strict schema) of the vendored CRD of `kind`, served version."""
    for path in sorted((DATA / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        if crd["spec"]["names"]["kind"] == kind:
            [version] = [item for item in crd["spec"]["versions"] if item["served"] and item["storage"]]
            return f"{crd['spec']['group']}/{version['name']}", strict(version["schema"]["openAPIV3Schema"])
    raise AssertionError(f"no vendored CRD for {kind}")


def strict(schema: dict) -> dict:
    """Reject unknown fields, as the API server's strict field validation (kubectl's default) does."""
    schema = copy.deepcopy(schema)

    def close(node):
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    schema["properties"]["metadata"] = {"type": "object"}  # ObjectMeta is the API server's, not the CRD's
    return schema


def validate_custom(item: dict) -> None:
    api_version, schema = crd_schema(item["kind"])
    assert item["apiVersion"] == api_version
    # Not jsonschema.validate: it checks the schema against the ECMA regex dialect first, and the
    # PrometheusRule CRD has a Go pattern with an inline flag, `^(?i)(abort|warn)?$`, that Python reads.
    jsonschema.Draft7Validator(schema).validate(item)


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_rendered_object_is_valid_for_its_schema(render, overlay, version):
    objects = render(overlay)
    assert {item["kind"] for item in objects} == CORE_KINDS | {"ScaledObject", "PodMonitor", "PrometheusRule"}
    for item in objects:
        if item["kind"] in CORE_KINDS:
            kubernetes_validate.validate(item, version, strict=True)
        else:
            validate_custom(item)


@pytest.mark.parametrize(
    ("kind", "break_it", "message"),
    [
        ("ScaledObject", lambda item: item["spec"].update(maxReplicas=10), "Additional properties are not allowed"),
        ("ScaledObject", lambda item: item["spec"]["triggers"][0].pop("metadata"), "'metadata' is a required property"),
        ("PodMonitor", lambda item: item["spec"]["podMetricsEndpoints"][0].update(interval="15 seconds"), "does not match"),
    ],
)
def test_the_crd_validation_rejects_what_the_cluster_would_reject(render, kind, break_it, message):
    item = k.the(render(), kind)
    break_it(item)
    with pytest.raises(jsonschema.ValidationError, match=message):
        validate_custom(item)


def test_the_core_validation_rejects_an_unknown_field(render):
    deployment = k.the(render(), "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readOnlyRoot"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def values(main: dict) -> dict[str, str]:
    """Return the container's plain environment variables (not those read from a Secret)."""
    return {item["name"]: item["value"] for item in main["env"] if "value" in item}


def container(objects: list[dict]) -> dict:
    [only] = k.the(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    return only


def test_the_pod_runs_the_digest_non_root_read_only_with_probes_on_the_health_routes(render):
    objects = render()
    pod = k.the(objects, "Deployment")["spec"]["template"]["spec"]
    main = container(objects)
    assert main["image"] == f"efreiprediction.azurecr.io/efreiprediris@{DIGEST}"
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
    assert main["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
    assert main["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert pod["volumes"][0]["name"] == "tmp" and "emptyDir" in pod["volumes"][0]
    probes = {name: main[name]["httpGet"] for name in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert probes == {
        "startupProbe": {"path": "/health/live", "port": "http"},
        "livenessProbe": {"path": "/health/live", "port": "http"},
        "readinessProbe": {"path": "/health/ready", "port": "http"},
    }
    assert main["ports"] == [
        {"name": "http", "containerPort": 5000, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 9464, "protocol": "TCP"},
    ]


def test_a_rolling_update_loses_no_request(render):
    objects = render()
    deployment = k.the(objects, "Deployment")
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert "replicas" not in deployment["spec"], "an apply would reset what KEDA scaled"


def test_service_pdb_and_pod_monitor_select_the_pods_and_name_the_port(render):
    objects = render()
    labels = k.the(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    for kind, selector in (("Service", lambda s: s["selector"]), ("PodDisruptionBudget", lambda s: s["selector"]["matchLabels"])):
        assert selector(k.the(objects, kind)["spec"]).items() <= labels.items(), kind
    monitor = k.the(objects, "PodMonitor")["spec"]
    assert monitor["selector"]["matchLabels"].items() <= labels.items()
    assert monitor["podMetricsEndpoints"][0]["port"] == "metrics"
    assert [port["targetPort"] for port in k.the(objects, "Service")["spec"]["ports"]] == ["http"]
    # job="prediris" in the cluster, as in the local Prometheus: the trigger's query works in both.
    assert labels[monitor["jobLabel"]] == "prediris"
    annotations = k.the(objects, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": "9464", "prometheus.io/path": "/metrics"}
    assert k.the(objects, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize(("overlay", "service_type"), [("aks", "LoadBalancer"), ("local", "ClusterIP")])
def test_overlays_differ_in_how_the_service_is_reached(render, overlay, service_type):
    objects = render(overlay)
    assert k.the(objects, "Service")["spec"]["type"] == service_type
    assert {item["metadata"].get("namespace") for item in objects if item["kind"] != "Namespace"} == {"prediris"}


def test_one_source_of_settings_feeds_the_container_app_and_kubernetes(render):
    flags = {"cpu": 1.0, "memory": "2Gi", "min_replicas": 2, "max_replicas": 7, "concurrency_target": 25}
    # The port has no flag: invoke.yaml (or INVOKE_AZURE_PORT) sets it for both platforms.
    objects = render("aks", *[item for name, value in flags.items() for item in (f"--{name.replace('_', '-')}", str(value))], port=8080)
    settings = {**flags, "port": 8080}
    app = container_app(target_from_config(project_config(azure=settings), require_subscription=False), "img@" + DIGEST, "abc1234")
    template = app.properties.template
    [replica] = template.containers
    main = container(objects)
    quantity = {"cpu": f"{round(replica.resources.cpu * 1000)}m", "memory": replica.resources.memory}
    assert (
        main["resources"]
        == {"requests": quantity, "limits": quantity}
        == {"requests": {"cpu": "1000m", "memory": "2Gi"}, "limits": quantity}
    )
    scaled = k.the(objects, "ScaledObject")["spec"]
    assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (template.scale.min_replicas, template.scale.max_replicas) == (2, 7)
    threshold = scaled["triggers"][0]["metadata"]["threshold"]
    assert threshold == template.scale.rules[0].http.metadata["concurrentRequests"] == "25"
    env = values(main)
    assert main["ports"][0]["containerPort"] == app.properties.configuration.ingress.target_port == 8080
    assert env["PREDIRIS_PORT"] == "8080"
    # Metrics on their own port, the same on both platforms.
    assert env["PREDIRIS_METRICS_PORT"] == str(app.properties.configuration.ingress.additional_port_mappings[0].target_port) == "9464"
    assert k.the(objects, "Deployment")["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == "9464"


def test_both_platforms_stop_a_replica_with_timings_derived_from_the_service_drain(render):
    objects = render("aks")
    app = container_app(target_from_config(project_config(), require_subscription=False), "img@" + DIGEST, "abc1234")
    template = app.properties.template
    [replica] = template.containers
    readiness = next(probe for probe in replica.probes if probe.type == "Readiness")
    main = container(objects)
    k8s_env, aca_env = values(main), {item.name: item.value for item in replica.env}
    settings = Settings()
    delay, grace = settings.drain_delay_seconds, settings.shutdown_grace_seconds
    for env in (k8s_env, aca_env):
        assert (float(env["PREDIRIS_DRAIN_DELAY_SECONDS"]), float(env["PREDIRIS_SHUTDOWN_GRACE_SECONDS"])) == (delay, grace)
    probe = main["readinessProbe"]
    assert (probe["periodSeconds"], probe["failureThreshold"]) == (readiness.period_seconds, readiness.failure_threshold)
    # The balancer notices readiness before the replica stops accepting, and SIGKILL waits for the whole drain.
    assert probe["periodSeconds"] * probe["failureThreshold"] < delay
    pod_grace = k.the(objects, "Deployment")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert pod_grace == template.termination_grace_period_seconds > delay + grace
    assert "lifecycle" not in main, "no preStop hook: the delay lives in the server, as on Container Apps"


def test_the_scaled_object_scales_on_in_flight_requests_like_the_http_rule(render):
    scaled = k.the(render(), "ScaledObject")["spec"]
    [trigger] = scaled["triggers"]
    assert trigger["type"] == "prometheus" and trigger["metricType"] == "AverageValue"
    assert trigger["metadata"]["query"].startswith("sum(prediris_http_requests_in_flight{")
    assert trigger["metadata"]["serverAddress"] == project_config().kubernetes.prometheus_address
    assert scaled["scaleTargetRef"] == {"name": "prediris"}
    # The scale-down stabilisation is stated, and matches Container Apps' 300 s cool-down.
    behavior = scaled["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == scaled["cooldownPeriod"] == 300
    assert math.isclose(float(trigger["metadata"]["threshold"]), project_config().azure.concurrency_target)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_metrics_are_served_on_the_internal_port_only_the_monitoring_namespace_reaches(render, overlay):
    objects = render(overlay, port=8080, metrics_port=9100)
    main = container(objects)
    assert values(main)["PREDIRIS_METRICS_PORT"] == "9100"
    assert {port["name"]: port["containerPort"] for port in main["ports"]} == {"http": 8080, "metrics": 9100}
    # No Service publishes the metrics port (the aks overlay's is a public LoadBalancer).
    assert [(port["targetPort"]) for port in k.the(objects, "Service")["spec"]["ports"]] == ["http"]
    policy = k.the(objects, "NetworkPolicy")["spec"]
    labels = k.the(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items() and policy["policyTypes"] == ["Ingress"]
    # Anyone may reach the API port; the metrics port only from the monitoring namespace.
    assert policy["ingress"] == [
        {"ports": [{"port": "http", "protocol": "TCP"}]},
        {
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
            "ports": [{"port": "metrics", "protocol": "TCP"}],
        },
    ]
    assert k.the(objects, "PodMonitor")["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"


def test_api_keys_come_from_an_optional_secret_and_no_key_is_in_the_manifests(render):
    main = container(render())
    [keys] = [item for item in main["env"] if item["name"] == "PREDIRIS_API_KEYS"]
    assert keys == {
        "name": "PREDIRIS_API_KEYS",
        "valueFrom": {"secretKeyRef": {"name": "prediris-api-keys", "key": "keys", "optional": True}},
    }
    rendered = yaml.safe_dump_all(render())
    assert "kind: Secret" not in rendered
