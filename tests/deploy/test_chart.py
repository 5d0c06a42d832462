"""The Helm chart, rendered in each shape and checked the way a cluster would check it:
every object against the Kubernetes schemas (strict: unknown fields are errors), then what the
schemas can't say: the pods run the documented entry points, probes hit /healthz, nothing runs
as root, secrets are references, every name points at something that exists."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from tests.deploy.conftest import (
    CACHE_DIR,
    ENTRY_POINTS,
    HEALTH_PATH,
    PORT,
    QUEUE_PATH,
    SERVE,
    WEB,
    WORKER,
)
from tests.deploy.helmrender import Chart, TemplateError

Manifest = dict[str, Any]

# the chart's kubeVersion floor, and the newest schemas the validator ships
K8S_VERSIONS = ("1.25.0", kubernetes_validate.latest_version())

SHAPES: dict[str, dict[str, Any]] = {
    "defaults": {},
    "redis-ingress-hpa": {
        "redis": {"enabled": True},
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "tls": [{"secretName": "rp-tls", "hosts": ["rollback-plan.example.com"]}],
        },
        "web": {"autoscaling": {"enabled": True}},
        "worker": {"autoscaling": {"enabled": True}},
        "config": {"GITHUB_APP_ID": 12345},
    },
    "external-redis-secret": {
        "externalRedis": {"existingSecret": "queue", "existingSecretKey": "url"},
        "secrets": {
            "existingSecret": "bot-secrets",
            "files": [
                {"setting": "GITLAB_WEBHOOK_SECRET", "key": "gitlab-webhook-secret"},
                {"setting": "GITLAB_TOKEN", "key": "gitlab-token"},
            ],
        },
        "persistence": {"enabled": False},
        "serviceAccount": {"create": False},
    },
    "embedded-without-volume": {"persistence": {"enabled": False}},
}


def by_kind(manifests: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def pod_specs(manifests: list[Manifest]) -> Iterator[tuple[str, Manifest]]:
    for name, deployment in by_kind(manifests, "Deployment").items():
        yield name, deployment["spec"]["template"]["spec"]


def app_containers(manifests: list[Manifest]) -> Iterator[tuple[str, Manifest]]:
    """rollback-plan's own containers (not Redis's)."""
    for name, spec in pod_specs(manifests):
        for container in spec["containers"]:
            if container["name"] != "redis":
                yield name, container


def env_of(container: Manifest) -> dict[str, Manifest]:
    return {item["name"]: item for item in container.get("env", [])}


@pytest.fixture(scope="module", params=sorted(SHAPES))
def shape(request: pytest.FixtureRequest, chart: Chart) -> tuple[str, list[Manifest]]:
    name: str = request.param
    return name, chart.manifests(SHAPES[name])


def test_every_object_is_valid_for_kubernetes(shape: tuple[str, list[Manifest]]) -> None:
    name, manifests = shape
    assert manifests, name
    for manifest in manifests:
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(manifest, version, strict=True)
            except kubernetes_validate.ValidationError as err:
                pytest.fail(
                    f"{name}: {manifest['kind']}/{manifest['metadata']['name']} invalid for "
                    f"Kubernetes {version}: {err.message} at {list(err.path)}"
                )


def test_names_are_unique_and_labels_select_their_pods(shape: tuple[str, list[Manifest]]) -> None:
    _, manifests = shape
    keys = [(m["kind"], m["metadata"]["name"]) for m in manifests]
    assert len(keys) == len(set(keys))
    for name, deployment in by_kind(manifests, "Deployment").items():
        selector = deployment["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), name
    # each Deployment's pods are selected by its own selector only
    selectors = [
        frozenset(d["spec"]["selector"]["matchLabels"].items())
        for d in by_kind(manifests, "Deployment").values()
    ]
    assert len(selectors) == len(set(selectors))


def test_the_pods_run_the_documented_entry_points(shape: tuple[str, list[Manifest]]) -> None:
    name, manifests = shape
    commands = {
        deployment: tuple(container["args"]) for deployment, container in app_containers(manifests)
    }
    for deployment, container in app_containers(manifests):
        assert "command" not in container, "the image's CMD is replaced through args only"
        assert commands[deployment] in ENTRY_POINTS, (name, deployment)
    scaled_out = name != "defaults" and name != "embedded-without-volume"
    if scaled_out:
        assert sorted(commands.values()) == sorted([WEB, WORKER]), name
    else:
        assert list(commands.values()) == [SERVE], name


def test_the_queue_each_shape_uses(shape: tuple[str, list[Manifest]]) -> None:
    name, manifests = shape
    for deployment, container in app_containers(manifests):
        env = env_of(container)
        assert env["ROLLBACK_PLAN_CACHE_DIR"]["value"] == CACHE_DIR
        if tuple(container["args"]) == SERVE:
            assert env["ROLLBACK_PLAN_QUEUE_PATH"]["value"] == QUEUE_PATH
            assert "ROLLBACK_PLAN_REDIS_URL" not in env
        else:
            assert "ROLLBACK_PLAN_QUEUE_PATH" not in env, deployment
            assert "ROLLBACK_PLAN_REDIS_URL" in env, deployment
    if name == "redis-ingress-hpa":
        services = by_kind(manifests, "Service")
        for _, container in app_containers(manifests):
            url = env_of(container)["ROLLBACK_PLAN_REDIS_URL"]["value"]
            assert url == "redis://rp-rollback-plan-redis:6379/0"
        assert "rp-rollback-plan-redis" in services
    if name == "external-redis-secret":
        for _, container in app_containers(manifests):
            ref = env_of(container)["ROLLBACK_PLAN_REDIS_URL"]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": "queue", "key": "url"}


def test_the_embedded_queue_runs_one_pod_on_a_kept_volume(chart: Chart) -> None:
    manifests = chart.manifests({"web": {"replicaCount": 5, "autoscaling": {"enabled": True}}})
    (web,) = by_kind(manifests, "Deployment").values()
    assert web["spec"]["replicas"] == 1
    assert web["spec"]["strategy"] == {"type": "Recreate"}
    assert not by_kind(manifests, "HorizontalPodAutoscaler"), "a SQLite queue can't scale out"
    (claim,) = by_kind(manifests, "PersistentVolumeClaim").values()
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    volumes = {v["name"]: v for v in web["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]


def test_web_pods_are_probed_at_the_served_port(
    shape: tuple[str, list[Manifest]],
) -> None:
    _, manifests = shape
    for deployment, container in app_containers(manifests):
        if tuple(container["args"]) == WORKER:
            assert "ports" not in container  # a worker serves no HTTP
            continue
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": PORT}
        assert env_of(container)["PORT"]["value"] == str(PORT)
        # readiness follows the queue; liveness must not, or a Redis outage restarts every pod
        paths = {"livenessProbe": "/livez", "startupProbe": "/livez"}
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            check = container[probe]["httpGet"]
            assert check["path"] == paths.get(probe, HEALTH_PATH), (deployment, probe)
            assert check["port"] == "http"
    for service in by_kind(manifests, "Service").values():
        if service["metadata"]["name"].endswith("-redis"):
            continue
        assert service["spec"]["ports"][0]["targetPort"] == "http"
        assert service["spec"]["selector"]["app.kubernetes.io/component"] == "web"


def test_nothing_runs_as_root_or_with_privileges(shape: tuple[str, list[Manifest]]) -> None:
    _, manifests = shape
    for name, spec in pod_specs(manifests):
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["runAsUser"] != 0, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            # a read-only root needs somewhere to write: /tmp and /data are volumes
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert {"/tmp", "/data"} <= mounts.keys(), name
            volumes = {v["name"] for v in spec["volumes"]}
            assert set(mounts.values()) <= volumes, name


def test_resources_are_set_for_every_container(shape: tuple[str, list[Manifest]]) -> None:
    _, manifests = shape
    for name, spec in pod_specs(manifests):
        for container in spec["containers"]:
            resources = container["resources"]
            assert resources["requests"]["memory"] and resources["limits"]["memory"], name


def test_secrets_are_only_referenced_never_rendered(chart: Chart) -> None:
    """The chart takes no secret's value: every secret setting is a file mounted from a
    Secret the operator made, or a secretKeyRef to one."""
    for overrides in SHAPES.values():
        manifests = chart.manifests({**overrides, "extraEnv": [{"name": "X", "value": "1"}]})
        assert not by_kind(manifests, "Secret"), "the chart creates no Secret: it references one"
        secret_settings = 0
        for _, container in app_containers(manifests):
            for name, item in env_of(container).items():
                if any(word in name for word in ("SECRET", "PRIVATE_KEY", "TOKEN")):
                    secret_settings += 1
                    assert name.endswith("_FILE"), f"{name} must be read from a file"
                    assert item["value"].startswith("/var/run/secrets/rollback-plan/")
                if name == "ROLLBACK_PLAN_REDIS_URL" and "valueFrom" in item:
                    assert set(item["valueFrom"]) == {"secretKeyRef"}
        assert secret_settings > 0  # the webhook secret at least: the loop saw secrets


def test_secret_files_mount_exactly_the_keys_listed(shape: tuple[str, list[Manifest]]) -> None:
    name, manifests = shape
    files = SHAPES[name].get("secrets", {}).get("files") or [
        {"setting": "GITHUB_WEBHOOK_SECRET", "key": "github-webhook-secret"},
        {"setting": "GITHUB_PRIVATE_KEY", "key": "github-private-key"},
    ]
    secret_name = SHAPES[name].get("secrets", {}).get("existingSecret") or "rp-rollback-plan"
    for deployment, spec in pod_specs(manifests):
        if deployment.endswith("-redis"):
            assert "secrets" not in {v["name"] for v in spec["volumes"]}
            continue
        volumes = {v["name"]: v for v in spec["volumes"]}
        secret = volumes["secrets"]["secret"]
        assert secret["secretName"] == secret_name
        assert [item["key"] for item in secret["items"]] == [f["key"] for f in files]
        (container,) = spec["containers"]
        env = env_of(container)
        for entry in files:
            path = env[f"ROLLBACK_PLAN_{entry['setting']}_FILE"]["value"]
            assert path == f"/var/run/secrets/rollback-plan/{entry['key']}"


def test_hpas_target_deployments_that_exist(chart: Chart) -> None:
    manifests = chart.manifests(SHAPES["redis-ingress-hpa"])
    deployments = by_kind(manifests, "Deployment")
    hpas = by_kind(manifests, "HorizontalPodAutoscaler")
    assert set(hpas) == {"rp-rollback-plan-web", "rp-rollback-plan-worker"}
    for hpa in hpas.values():
        assert hpa["apiVersion"] == "autoscaling/v2"
        target = deployments[hpa["spec"]["scaleTargetRef"]["name"]]
        # the HPA owns the replica count: a fixed one would fight it on every upgrade
        assert "replicas" not in target["spec"]


def test_ingress_exposes_webhooks_not_metrics(chart: Chart) -> None:
    manifests = chart.manifests(SHAPES["redis-ingress-hpa"])
    (ingress,) = by_kind(manifests, "Ingress").values()
    (rule,) = ingress["spec"]["rules"]
    paths = [p["path"] for p in rule["http"]["paths"]]
    assert "/webhooks" in paths
    assert not any(p in ("/", "/metrics", HEALTH_PATH) for p in paths)
    services = by_kind(manifests, "Service")
    for path in rule["http"]["paths"]:
        backend = path["backend"]["service"]
        assert backend["name"] in services
        assert backend["port"]["name"] == services[backend["name"]]["spec"]["ports"][0]["name"]


def test_redis_keeps_its_queue_on_a_volume(chart: Chart) -> None:
    manifests = chart.manifests({"redis": {"enabled": True}})
    redis = by_kind(manifests, "Deployment")["rp-rollback-plan-redis"]
    (container,) = redis["spec"]["template"]["spec"]["containers"]
    assert "--appendonly" in container["args"]
    volumes = {v["name"]: v for v in redis["spec"]["template"]["spec"]["volumes"]}
    claim = volumes["data"]["persistentVolumeClaim"]["claimName"]
    assert claim in by_kind(manifests, "PersistentVolumeClaim")


def test_contradicting_queue_settings_are_refused(chart: Chart) -> None:
    with pytest.raises(TemplateError, match="not both"):
        chart.manifests({"redis": {"enabled": True}, "externalRedis": {"url": "redis://r:6379"}})


def test_names_respect_the_63_character_limit(chart: Chart) -> None:
    manifests = chart.manifests({"fullnameOverride": "x" * 80, "redis": {"enabled": True}})
    for manifest in manifests:
        for label in manifest["metadata"]["labels"].values():
            assert len(label) <= 63
    assert by_kind(manifests, "Service")["x" * 63]
