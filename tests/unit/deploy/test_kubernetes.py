"""deploy/kubernetes agrees with itself and with the code: every manifest parses with its required fields,
and every image, port, probe, command flag, mounted file and config key is one the code knows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.config import ServerSettings
from tests.unit.deploy.conftest import (
    KUBERNETES,
    load_documents,
    option_values,
    parse_command_line,
    project_version,
)

REQUIRED = {
    "Namespace": [],
    "ConfigMap": ["data"],
    "Secret": ["stringData"],
    "Deployment": ["spec.selector.matchLabels", "spec.template.spec.containers"],
    "Service": ["spec.selector", "spec.ports"],
    "PodDisruptionBudget": ["spec.selector.matchLabels", "spec.minAvailable"],
    "HorizontalPodAutoscaler": ["spec.scaleTargetRef.name", "spec.maxReplicas", "spec.metrics"],
    "PersistentVolumeClaim": ["spec.accessModes", "spec.resources.requests.storage"],
    "ScaledObject": ["spec.scaleTargetRef.name", "spec.triggers"],
    "TriggerAuthentication": ["spec.secretTargetRef"],
}


def _all() -> list[dict[str, Any]]:
    return [
        doc
        for path in sorted(KUBERNETES.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for doc in load_documents(path)
    ]


DOCS = _all()


def _get(doc: dict[str, Any], dotted: str) -> Any:
    value: Any = doc
    for key in dotted.split("."):
        value = value[key]
    return value


def _one(kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in DOCS if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def _container(deployment: str) -> dict[str, Any]:
    (container,) = _one("Deployment", deployment)["spec"]["template"]["spec"]["containers"]
    return container


def _configmap_files() -> dict[str, str]:
    return dict(_one("ConfigMap", "bridgeway-config")["data"])


def test_every_manifest_parses_and_has_its_required_fields() -> None:
    assert DOCS
    for doc in DOCS:
        assert doc.get("apiVersion") and doc.get("kind") in REQUIRED, doc.get("kind")
        assert doc["metadata"]["name"]
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "bridgeway"
        for path in REQUIRED[doc["kind"]]:
            assert _get(doc, path), f"{doc['kind']} {doc['metadata']['name']}: {path} missing"


def test_the_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk


def test_every_deployment_runs_the_projects_image_as_non_root_with_matching_labels() -> None:
    deployments = [d for d in DOCS if d["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} >= {"bridgeway-gateway", "bridgeway-scoring-queue"}
    for deployment in deployments:
        spec = deployment["spec"]
        labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items()
        pod = spec["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
        for container in pod["containers"]:
            assert container["image"] == f"bridgeway:{project_version()}"
            assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_every_mount_has_a_volume_and_every_referenced_configmap_secret_and_key_exists() -> None:
    for deployment in (d for d in DOCS if d["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in pod["containers"]:
            for mount in container["volumeMounts"]:
                volume = volumes[mount["name"]]
                if "configMap" in volume and "subPath" in mount:
                    assert mount["subPath"] in _one("ConfigMap", volume["configMap"]["name"])["data"]
                if "secret" in volume:
                    secret = _one("Secret", volume["secret"]["secretName"])
                    for item in volume["secret"].get("items", []):
                        assert item["key"] in secret["stringData"]
                if "persistentVolumeClaim" in volume:
                    _one("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in _one("Secret", ref["name"])["stringData"]


def _mounted_file(deployment: str, path: str) -> bool:
    """Whether ``path`` inside the container is a file some volume provides."""
    pod = _one("Deployment", deployment)["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    for mount in pod["containers"][0]["volumeMounts"]:
        volume, root = volumes[mount["name"]], mount["mountPath"]
        if path == root and "subPath" in mount:
            return True
        if path.startswith(root + "/"):
            relative = path[len(root) + 1 :]
            if "secret" in volume:
                secret = _one("Secret", volume["secret"]["secretName"])
                items = volume["secret"].get("items")
                return relative in ({i["path"] for i in items} if items else set(secret["stringData"]))
            if "configMap" in volume:
                return relative in _one("ConfigMap", volume["configMap"]["name"])["data"]
            return "persistentVolumeClaim" in volume or "emptyDir" in volume
    return False


def test_the_gateway_arguments_parse_with_bridgeway_serve_and_name_mounted_files(tmp_path: Path) -> None:
    from adapters.cli.serve import server_settings

    container = _container("bridgeway-gateway")
    args = container["args"]
    params = parse_command_line(args, _configmap_files(), tmp_path)
    settings = server_settings(
        params["config"], {k: v for k, v in params.items() if k not in ("config", "log_level")}
    )
    assert settings.tls_cert is not None and settings.tokens is not None and settings.audit_log is not None
    for option in ("--config", "--tls-cert", "--tls-key", "--tokens"):
        assert _mounted_file("bridgeway-gateway", option_values(args)[option]), option
    assert _mounted_file("bridgeway-gateway", option_values(args)["--audit-log"])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert (ports["grpc"], ports["metrics"], ports["health"]) == (
        settings.port,
        settings.metrics_port,
        settings.health_port,
    )
    assert (settings.port, settings.metrics_port) == (ServerSettings().port, ServerSettings().metrics_port)


def test_gateway_probes_use_grpc_health_on_the_plaintext_health_port() -> None:
    container = _container("bridgeway-gateway")
    health_port = int(option_values(container["args"])["--health-port"])
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"]["port"] == health_port, probe
    grace = _one("Deployment", "bridgeway-gateway")["spec"]["template"]["spec"][
        "terminationGracePeriodSeconds"
    ]
    drain = yaml.safe_load(_configmap_files()["gateway.yaml"])["drain_grace_s"]
    assert grace > drain


def test_services_pdb_and_autoscalers_point_at_what_exists() -> None:
    container_ports = {p["name"] for p in _container("bridgeway-gateway")["ports"]}
    gateway_labels = _one("Deployment", "bridgeway-gateway")["spec"]["template"]["metadata"]["labels"]
    for service in (d for d in DOCS if d["kind"] == "Service"):
        assert service["spec"]["selector"].items() <= gateway_labels.items()
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in container_ports
    assert _one("PodDisruptionBudget", "bridgeway-gateway")["spec"]["selector"]["matchLabels"].items() <= (
        gateway_labels.items()
    )
    hpa = _one("HorizontalPodAutoscaler", "bridgeway-gateway")["spec"]
    _one("Deployment", hpa["scaleTargetRef"]["name"])
    assert hpa["metrics"][0]["resource"]["name"] == "cpu"
    assert hpa["minReplicas"] >= 2  # with a PDB of minAvailable 1, a drain never empties the service
    assert (
        "resources" in _container("bridgeway-gateway")
        and _container("bridgeway-gateway")["resources"]["requests"]["cpu"]
    )


def test_the_amqp_pipeline_scales_on_the_depth_of_the_queue_it_consumes() -> None:
    scaled = _one("ScaledObject", "bridgeway-scoring-queue")["spec"]
    target = _one("Deployment", scaled["scaleTargetRef"]["name"])
    (trigger,) = scaled["triggers"]
    assert trigger["type"] == "rabbitmq" and trigger["metadata"]["mode"] == "QueueLength"
    (pipeline,) = yaml.safe_load(_configmap_files()["amqp.yaml"])["pipelines"]
    assert trigger["metadata"]["queueName"] == pipeline["source"]["queue"]
    auth = _one("TriggerAuthentication", trigger["authenticationRef"]["name"])["spec"]["secretTargetRef"][0]
    assert auth["key"] in _one("Secret", auth["name"])["stringData"]
    env = {e["name"] for e in _container(target["metadata"]["name"])["env"]}
    assert pipeline["source"]["password_env"] in env
    user_info = pipeline["source"]["url"].split("//", 1)[1].split("@")[0]
    assert ":" not in user_info, "no password in the ConfigMap"


def test_the_files_pipeline_is_one_replica_per_inbox_replaced_never_rolled() -> None:
    spec = _one("Deployment", "bridgeway-erp-claims")["spec"]
    assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate"
    assert not [
        d
        for d in DOCS
        if d["kind"] == "ScaledObject" and d["spec"]["scaleTargetRef"]["name"] == "bridgeway-erp-claims"
    ]


@pytest.mark.parametrize(
    ("deployment", "config"),
    [("bridgeway-scoring-queue", "amqp.yaml"), ("bridgeway-erp-claims", "files.yaml")],
)
def test_pipeline_arguments_parse_with_bridgeway_run_and_their_config_loads(
    deployment: str, config: str, tmp_path: Path
) -> None:
    args = _container(deployment)["args"]
    assert option_values(args)["--config"] == f"/etc/bridgeway/{config}"
    parse_command_line(args, _configmap_files(), tmp_path)
    _load_pipeline_config(_configmap_files()[config], tmp_path)
    for key in ("root_ca", "token_file"):
        where = yaml.safe_load(_configmap_files()[config])["inference"]
        path = where["tls"][key] if key == "root_ca" else where[key]
        assert _mounted_file(deployment, path), path
    audit = yaml.safe_load(_configmap_files()[config]).get("audit")
    if audit is not None:  # the audit log must live on a mounted volume, not in the read-only image
        assert _mounted_file(deployment, audit["log"]), audit["log"]


def test_the_gateway_config_file_loads_with_the_gateways_settings() -> None:
    ServerSettings.model_validate(yaml.safe_load(_configmap_files()["gateway.yaml"]))


def _load_pipeline_config(text: str, tmp_path: Path) -> Any:
    config = pytest.importorskip("adapters.config", reason="bridgeway.yaml schema not built yet")
    return config.parse_config(yaml.safe_load(text), tmp_path, "bridgeway.yaml", text)
