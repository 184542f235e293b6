"""Validates Py-Commerce's deployment files; scripts/validate-deploy runs it on the rendered kustomize base.

    python validate.py --rendered RENDERED.yaml --repo REPO_ROOT [--edits EDITS.yaml] [--kubernetes-version 1.29 ...]

--edits applies a broken case's text replacements (deploy/tools/broken/*/edits.yaml) to the repository's files
in memory, so a case can break docker-compose.yml or an observability file without a copy of it.

Checks, each failure printed as `error: ...` and counted (exit status 1 when any):
- every rendered Kubernetes object against the Kubernetes JSON schemas of each given version, strictly
  (unknown fields refused), with the schemas the `kubernetes-validate` package bundles (no network);
- the custom resources (SpinApp, SpinAppExecutor; KEDA's ScaledObject, TriggerAuthentication) against
  deploy/schemas/, which reuse the same bundled Kubernetes definitions for the core types they embed;
- references inside the render: ConfigMap keys the SpinApp reads, the HPA's target, the Ingress backend, the
  executor, Service selectors; and the SpinApp's variables against spin.toml (each exists there, and every
  required variable is bound);
- autoscaling: each ScaledObject's target exists and has no other autoscaler, a scaled Deployment leaves
  `replicas` unset, Kafka triggers read the bridge's own brokers, group and topics (and ask for no more
  replicas than partitions), Prometheus triggers query metrics the bridge produces, authenticationRefs resolve;
- PodDisruptionBudgets select pods and still allow an eviction at the workload's minimum replica count;
- NetworkPolicies: a default deny, every policy and in-namespace peer selects pods of the render, and the
  flows of deploy/tools/network-flows.yaml are allowed or refused as listed there;
- secrets: no literal secret in an env var, SpinApp variable or ConfigMap, no Secret with data but the
  generated runtime config;
- the observability files: the OpenTelemetry Collector pipelines use only defined components, Prometheus
  jobs have targets, the Prometheus configuration and alert rules pass `promtool check` and `promtool test
  rules` (Debian's prometheus package), the Loki configuration matches deploy/schemas/loki-config-3.3.json
  (generated from Loki's configuration reference), every metric a Grafana panel queries is one that something
  here produces, every log query selects streams by labels the collector sets, every $variable is defined,
  and every panel's data source is provisioned;
- docs/openapi.json (served by the gateway at /openapi.json) against the OpenAPI 3.1 specification's schema
  (PyPI `openapi-spec-validator`);
- docker-compose.yml against the Compose specification's schema and .github/workflows/*.yml against GitHub's
  workflow schema (both bundled by PyPI `check-jsonschema`);
- docker-compose.yml: one internal network, healthchecks and restart policies, settings documented in
  .env.example, published ports bound to 127.0.0.1 only, no literal password, mounted files that exist.
"""

from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib

import jsonschema
import kubernetes_validate
import yaml
from openapi_spec_validator import validate as validate_openapi
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from referencing import Registry, Resource

CRD_SCHEMAS = {
    ("core.spinkube.dev/v1alpha1", "SpinApp"): "spinapp-core.spinkube.dev-v1alpha1.json",
    ("core.spinkube.dev/v1alpha1", "SpinAppExecutor"): "spinappexecutor-core.spinkube.dev-v1alpha1.json",
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject-keda.sh-v1alpha1.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "triggerauthentication-keda.sh-v1alpha1.json",
}
# The schema of deploy/observability/loki.yaml: Loki's configuration reference as JSON Schema.
LOKI_SCHEMA = "loki-config-3.3.json"


class Report:
    def __init__(self) -> None:
        self.errors = 0

    def error(self, where: str, message: str) -> None:
        self.errors += 1
        print(f"error: {where}: {message}")

    def ok(self, message: str) -> None:
        print(f"ok: {message}")


class Files:
    """The repository's files, with a broken case's edits applied in memory."""

    def __init__(self, repo: pathlib.Path, edits: list[dict], report: Report) -> None:
        self.repo = repo
        self.edited: dict[str, str] = {}
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="validate-deploy-"))
        for edit in edits:
            current = self.edited.get(edit["file"]) or (repo / edit["file"]).read_text()
            if edit["replace"] not in current:
                report.error(edit["file"], f"edit target not found: {edit['replace']!r}")
            self.edited[edit["file"]] = current.replace(edit["replace"], edit["with"])

    def text(self, relative: str) -> str:
        return self.edited[relative] if relative in self.edited else (self.repo / relative).read_text()

    def path(self, relative: str) -> pathlib.Path:
        """A path holding the file as checked: the repository's, or an edited copy."""
        if relative not in self.edited:
            return self.repo / relative
        copy = self.tmp / relative
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(self.edited[relative])
        return copy

    def yaml(self, relative: str):
        return yaml.safe_load(self.text(relative))

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def name_of(doc: dict) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def schema_dir(version: str) -> pathlib.Path:
    """The strict (unknown fields refused) schemas kubernetes-validate bundles for a Kubernetes version."""
    return pathlib.Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{version}.0-local-strict"


def schema_for(doc: dict, version: str, spin_schemas: pathlib.Path) -> dict | None:
    crd_schema = CRD_SCHEMAS.get((doc.get("apiVersion"), doc.get("kind")))
    if crd_schema:
        return json.loads((spin_schemas / crd_schema).read_text())
    # kubernetes-validate's file names: rbac.authorization.k8s.io/v1 Role -> role-rbac-v1.json, v1 Service ->
    # service-v1.json.
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", str(doc.get("apiVersion")))
    path = schema_dir(version) / f"{str(doc.get('kind')).lower()}-{api}.json"
    return json.loads(path.read_text()) if path.exists() else None


def validate_objects(docs: list[dict], spin_schemas: pathlib.Path, versions: list[str], report: Report) -> None:
    for version in versions:
        if not schema_dir(version).is_dir():
            report.error("kubernetes-validate", f"has no schemas for Kubernetes {version}")
            continue
        definitions = json.loads((schema_dir(version) / "_definitions.json").read_text())
        registry = Resource.from_contents(definitions) @ Registry()
        for doc in docs:
            where = f"{name_of(doc)} (Kubernetes {version})"
            schema = schema_for(doc, version, spin_schemas)
            if schema is None:
                report.error(where, f"no schema for {doc.get('apiVersion')} {doc.get('kind')}")
                continue
            validator = jsonschema.Draft202012Validator(schema, registry=registry)
            # Every failure, not only the first: a broken manifest is fixed in one round.
            for failure in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
                path = "/".join(str(p) for p in failure.absolute_path)
                report.error(where, f"{path}: {failure.message}")
        report.ok(f"{len(docs)} objects checked against Kubernetes {version} schemas")


def check_references(docs: list[dict], spin_toml: dict, report: Report) -> None:
    by_kind: dict[str, dict[str, dict]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    config_maps = by_kind.get("ConfigMap", {})
    declared = spin_toml.get("variables", {})

    for name, app in by_kind.get("SpinApp", {}).items():
        where = f"SpinApp/{name}"
        spec = app.get("spec", {})
        executor = spec.get("executor")
        if executor and executor not in by_kind.get("SpinAppExecutor", {}):
            report.error(where, f"executor {executor!r} is not a SpinAppExecutor of this render")
        bound = set()
        for variable in spec.get("variables", []):
            bound.add(variable["name"])
            if variable["name"] not in declared:
                report.error(where, f"variable {variable['name']!r} is not declared in spin.toml")
            ref = variable.get("valueFrom", {}).get("configMapKeyRef")
            if ref and ref["name"] in config_maps and ref["key"] not in config_maps[ref["name"]].get("data", {}):
                report.error(where, f"ConfigMap {ref['name']} has no key {ref['key']!r}")
            if ref and ref["name"] not in config_maps:
                report.error(where, f"ConfigMap {ref['name']!r} is not part of the render")
        for variable, spec_of in declared.items():
            if spec_of.get("required") and variable not in bound:
                report.error(where, f"required spin.toml variable {variable!r} is not bound")
        secret = spec.get("runtimeConfig", {}).get("loadFromSecret")
        if secret:
            data = by_kind.get("Secret", {}).get(secret, {}).get("data", {})
            if "runtime-config.toml" not in data:
                report.error(where, f"runtime config Secret {secret!r} lacks the key runtime-config.toml")
        checks = spec.get("checks", {})
        for probe in ("readiness", "liveness"):
            if not checks.get(probe, {}).get("httpGet", {}).get("path", "").startswith("/health"):
                report.error(where, f"{probe} check must call the gateway's /health routes")

    for name, hpa in by_kind.get("HorizontalPodAutoscaler", {}).items():
        target = hpa["spec"]["scaleTargetRef"]
        app = by_kind.get("SpinApp", {}).get(target["name"])
        if app is not None:
            if not app["spec"].get("enableAutoscaling"):
                report.error(f"HorizontalPodAutoscaler/{name}", "its SpinApp does not set enableAutoscaling")
        elif target["name"] not in by_kind.get(target["kind"], {}):
            report.error(f"HorizontalPodAutoscaler/{name}", f"no {target['kind']} {target['name']!r}")

    services = set(by_kind.get("Service", {})) | set(by_kind.get("SpinApp", {}))
    for name, ingress in by_kind.get("Ingress", {}).items():
        for rule in ingress["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                backend = path["backend"]["service"]["name"]
                if backend not in services:
                    report.error(f"Ingress/{name}", f"backend {backend!r} is neither a Service nor a SpinApp")

    pod_labels = [
        obj["spec"]["template"]["metadata"].get("labels", {})
        for kind in ("Deployment", "StatefulSet", "DaemonSet")
        for obj in by_kind.get(kind, {}).values()
    ]
    for name, service in by_kind.get("Service", {}).items():
        selector = service["spec"].get("selector", {})
        if selector and not any(selector.items() <= labels.items() for labels in pod_labels):
            report.error(f"Service/{name}", f"selector {selector} matches no pod template")
    report.ok("references between objects and spin.toml")


def index(docs: list[dict]) -> dict[str, dict[str, dict]]:
    by_kind: dict[str, dict[str, dict]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    return by_kind


class Workload:
    """Pods of the render: a controller's template, or a SpinApp's pods as spin-operator labels them."""

    def __init__(self, kind: str, name: str, labels: dict, ports: dict[str, int]) -> None:
        self.kind, self.name, self.labels, self.ports = kind, name, labels, ports

    def __repr__(self) -> str:
        return f"{self.kind}/{self.name}"


def workloads(by_kind: dict) -> list[Workload]:
    found = []
    for kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        for name, obj in by_kind.get(kind, {}).items():
            template = obj["spec"]["template"]
            ports = {}
            for container in template["spec"].get("containers", []):
                for port in container.get("ports", []):
                    ports[port.get("name", str(port["containerPort"]))] = port["containerPort"]
            found.append(Workload(kind, name, template["metadata"].get("labels", {}), ports))
    for name, app in by_kind.get("SpinApp", {}).items():
        # spin-operator: Deployment and pods labelled core.spinkube.dev/app-name=<name>, ready pods also
        # core.spinkube.dev/app.<name>.status=ready (what its Service selects), Spin listening on http-app (80).
        labels = {"core.spinkube.dev/app-name": name, f"core.spinkube.dev/app.{name}.status": "ready",
                  **app["spec"].get("podLabels", {})}
        found.append(Workload("SpinApp", name, labels, {"http-app": 80}))
    return found


def selects(selector: dict | None, labels: dict) -> bool:
    """Kubernetes label selector semantics (matchLabels and matchExpressions); an empty selector selects all."""
    selector = selector or {}
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        ok = {"In": key in labels and labels[key] in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[operator]
        if not ok:
            return False
    return True


def min_replicas(workload: Workload, by_kind: dict) -> int:
    """The fewest pods the workload runs when nothing disrupts it: its autoscaler's minimum, else replicas."""
    target = workload.name
    for hpa in by_kind.get("HorizontalPodAutoscaler", {}).values():
        if hpa["spec"]["scaleTargetRef"]["name"] == target:
            return hpa["spec"].get("minReplicas", 1)
    for scaled in by_kind.get("ScaledObject", {}).values():
        if scaled["spec"]["scaleTargetRef"]["name"] == target:
            return scaled["spec"].get("minReplicaCount", 0)
    if workload.kind == "SpinApp":
        return by_kind["SpinApp"][target]["spec"].get("replicas", 1)
    return by_kind.get(workload.kind, {}).get(target, {}).get("spec", {}).get("replicas", 1)


def container_env(by_kind: dict, deployment: dict | None) -> dict[str, str]:
    """The environment a Deployment's first container gets from its ConfigMaps and literal values."""
    if deployment is None:
        return {}
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef")
        if ref:
            env.update(by_kind.get("ConfigMap", {}).get(ref["name"], {}).get("data", {}))
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = variable["value"]
    return env


def check_scaling(by_kind: dict, produced_metrics: set[str], report: Report) -> None:
    scalers: dict[str, list[str]] = {}
    for kind in ("HorizontalPodAutoscaler", "ScaledObject"):
        for name, scaler in by_kind.get(kind, {}).items():
            target = scaler["spec"]["scaleTargetRef"]
            scalers.setdefault(target["name"], []).append(f"{kind}/{name}")
    for target, owners in scalers.items():
        if len(owners) > 1:
            report.error(owners[0], f"{target} is also scaled by {', '.join(owners[1:])}: KEDA's HPA and another "
                                    "autoscaler would fight over the replica count")
        deployment = by_kind.get("Deployment", {}).get(target)
        if deployment is not None and "replicas" in deployment["spec"]:
            report.error(f"Deployment/{target}", f"sets spec.replicas although {owners[0]} owns the count "
                                                 "(every apply would reset it)")

    for name, scaled in by_kind.get("ScaledObject", {}).items():
        where = f"ScaledObject/{name}"
        spec = scaled["spec"]
        target = spec["scaleTargetRef"]
        kind = target.get("kind", "Deployment")
        if target["name"] not in by_kind.get(kind, {}):
            report.error(where, f"no {kind} {target['name']!r} to scale")
        # What the scaled bridge itself is configured with (its ConfigMaps and env), as the triggers must agree.
        bridge_config = container_env(by_kind, by_kind.get(kind, {}).get(target["name"]))
        prefix = bridge_config.get("BRIDGE_KAFKA_TOPIC_PREFIX", "")
        topics = {f"{prefix}order.created", f"{prefix}order.cancelled"}
        if spec.get("minReplicaCount", 0) > spec.get("maxReplicaCount", 100):
            report.error(where, "minReplicaCount must be less than or equal to maxReplicaCount")
        for trigger in spec["triggers"]:
            metadata = trigger.get("metadata", {})
            auth = trigger.get("authenticationRef")
            if auth and auth.get("kind", "TriggerAuthentication") == "TriggerAuthentication" \
                    and auth["name"] not in by_kind.get("TriggerAuthentication", {}):
                report.error(where, f"authenticationRef {auth['name']!r} is not a TriggerAuthentication of this render")
            if trigger["type"] == "kafka":
                brokers = bridge_config.get("BRIDGE_KAFKA_BROKERS")
                if metadata.get("bootstrapServers") != brokers:
                    report.error(where, f"kafka trigger reads {metadata.get('bootstrapServers')!r}, the bridge "
                                        f"uses BRIDGE_KAFKA_BROKERS={brokers!r}")
                group = bridge_config.get("BRIDGE_CONSUMER_GROUP", "analytics")
                if metadata.get("consumerGroup") != group:
                    report.error(where, f"kafka trigger watches group {metadata.get('consumerGroup')!r}, the "
                                        f"consumer is in {group!r} (BRIDGE_CONSUMER_GROUP)")
                if metadata.get("topic") not in topics:
                    report.error(where, f"kafka trigger topic {metadata.get('topic')!r} is none of {sorted(topics)}")
                partitions = int(bridge_config.get("BRIDGE_KAFKA_PARTITIONS", "3"))
                if metadata.get("allowIdleConsumers") != "true" and spec.get("maxReplicaCount", 100) > partitions:
                    report.error(where, f"maxReplicaCount {spec.get('maxReplicaCount', 100)} is more consumers "
                                        f"than the {partitions} partitions (BRIDGE_KAFKA_PARTITIONS) can use")
            if trigger["type"] == "prometheus":
                for metric in metric_names(metadata.get("query", "")):
                    if metric not in produced_metrics:
                        report.error(where, f"prometheus trigger queries unknown metric {metric}")
    report.ok(f"autoscalers: {sum(len(v) for v in scalers.values())} for {len(scalers)} targets")


def check_disruption_budgets(by_kind: dict, pods: list[Workload], report: Report) -> None:
    for name, pdb in by_kind.get("PodDisruptionBudget", {}).items():
        where = f"PodDisruptionBudget/{name}"
        selected = [w for w in pods if selects(pdb["spec"].get("selector"), w.labels)]
        if not selected:
            report.error(where, f"selector {pdb['spec'].get('selector')} matches no pods of this render")
        for workload in selected:
            fewest = min_replicas(workload, by_kind)
            min_available = pdb["spec"].get("minAvailable")
            max_unavailable = pdb["spec"].get("maxUnavailable")
            if isinstance(min_available, int) and min_available >= fewest:
                report.error(where, f"minAvailable {min_available} with {workload} at {fewest} replica(s) blocks "
                                    "every voluntary eviction (node drains never finish)")
            if max_unavailable in (0, "0%"):
                report.error(where, "maxUnavailable 0 blocks every voluntary eviction")
    report.ok(f"{len(by_kind.get('PodDisruptionBudget', {}))} PodDisruptionBudgets")


def peer_matches(peer: dict, policy_namespace: str, namespace: str, labels: dict) -> bool:
    if "ipBlock" in peer:
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], {"kubernetes.io/metadata.name": namespace}):
            return False
    elif namespace != policy_namespace:
        return False
    return selects(peer.get("podSelector"), labels)


def port_matches(rule: dict, port: int, named: dict[str, int]) -> bool:
    ports = rule.get("ports")
    if not ports:
        return True
    for entry in ports:
        value = entry.get("port")
        if value is None or value == port or named.get(str(value)) == port:
            return True
        if isinstance(value, int) and entry.get("endPort") and value <= port <= entry["endPort"]:
            return True
    return False


def flow_allowed(policies: list[dict], namespace: str, source: dict, destination: dict, port: int) -> bool:
    """Whether the NetworkPolicies of `namespace` let `source` open `port` on `destination` (each a dict with
    namespace, labels and named ports)."""
    def side(direction: str, subject: dict, other: dict) -> bool:
        if subject["namespace"] != namespace:
            return True  # policies of other namespaces are not ours to check
        isolating = [p for p in policies if selects(p["spec"].get("podSelector"), subject["labels"])
                     and direction in p["spec"].get("policyTypes", ["Ingress"])]
        if not isolating:
            return True
        key, peers = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        named = destination["ports"]
        for policy in isolating:
            for rule in policy["spec"].get(key, []):
                if not port_matches(rule, port, named):
                    continue
                if "from" not in rule and "to" not in rule:
                    return True
                if any(peer_matches(peer, namespace, other["namespace"], other["labels"]) for peer in rule.get(peers, [])):
                    return True
        return False

    return side("Egress", source, destination) and side("Ingress", destination, source)


def check_network_policies(by_kind: dict, pods: list[Workload], namespace: str, flows: dict, report: Report) -> None:
    policies = list(by_kind.get("NetworkPolicy", {}).values())
    if not policies:
        report.error("NetworkPolicy", "none in the render: every pod accepts and opens any connection")
        return
    if not any(p["spec"].get("podSelector") in ({}, None) and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
               and not p["spec"].get("ingress") and not p["spec"].get("egress") for p in policies):
        report.error("NetworkPolicy", "no default deny (podSelector {}, policyTypes Ingress and Egress, no rules)")
    for policy in policies:
        where = f"NetworkPolicy/{policy['metadata']['name']}"
        selector = policy["spec"].get("podSelector")
        if selector and not any(selects(selector, w.labels) for w in pods):
            report.error(where, f"podSelector {selector} selects no pods of this render")
        for key, peers in (("ingress", "from"), ("egress", "to")):
            for rule in policy["spec"].get(key, []):
                for peer in rule.get(peers, []):
                    if "podSelector" in peer and "namespaceSelector" not in peer \
                            and not any(selects(peer["podSelector"], w.labels) for w in pods):
                        report.error(where, f"{key} peer {peer['podSelector']} selects no pods of this render")

    def endpoint(name: str) -> dict:
        spec = flows["workloads"][name]
        if "pods" in spec:
            match = next((w for w in pods if selects({"matchLabels": spec["pods"]}, w.labels)), None)
            if match is None:
                report.error("network-flows.yaml", f"{name}: no pods of this render carry {spec['pods']}")
                return {"namespace": namespace, "labels": spec["pods"], "ports": {}}
            return {"namespace": namespace, "labels": match.labels, "ports": match.ports}
        return {"namespace": spec["namespace"], "labels": spec["labels"], "ports": {}}

    checked = 0
    for expected, listed in ((True, flows.get("allowed", [])), (False, flows.get("refused", []))):
        for source, destination, port in listed:
            checked += 1
            if flow_allowed(policies, namespace, endpoint(source), endpoint(destination), port) != expected:
                verdict = "refused, it must be allowed" if expected else "allowed, it must be refused"
                report.error("NetworkPolicy", f"{source} -> {destination}:{port} is {verdict} (network-flows.yaml)")
    report.ok(f"{len(policies)} NetworkPolicies; {checked} flows allowed or refused as designed")


SECRET_NAME = re.compile(r"((^|_)(PASSWORD|PASSWD|SECRET|PRIVATE_KEY|API_KEY|CREDENTIALS?)(_|$)|(^|_)TOKEN$|(^|_)DB_URL$|"
                         r"(^|_)REDIS_URL$)", re.I)
SECRET_VALUE = re.compile(r"(-----BEGIN [A-Z ]*PRIVATE KEY-----|[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@)")


def check_secrets(by_kind: dict, report: Report) -> None:
    """Secrets come from Secrets created out of band, never from the manifests."""
    for kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        for name, obj in by_kind.get(kind, {}).items():
            for container in obj["spec"]["template"]["spec"].get("containers", []):
                for env in container.get("env", []):
                    value = env.get("value")
                    if value is not None and (SECRET_NAME.search(env["name"]) or SECRET_VALUE.search(value)):
                        report.error(f"{kind}/{name}", f"env {env['name']} has a literal value: take it from a Secret "
                                                       "(valueFrom.secretKeyRef)")
    for name, app in by_kind.get("SpinApp", {}).items():
        for variable in app["spec"].get("variables", []):
            value = variable.get("value")
            if value is not None and (SECRET_NAME.search(variable["name"]) or re.search(r"(_url|_key|_keys)$", variable["name"])
                                      or SECRET_VALUE.search(value)):
                report.error(f"SpinApp/{name}", f"variable {variable['name']} has a literal value: take it from a "
                                                "Secret (valueFrom.secretKeyRef)")
    for name, config in by_kind.get("ConfigMap", {}).items():
        for key, value in (config.get("data") or {}).items():
            if SECRET_NAME.search(key) or SECRET_VALUE.search(str(value)):
                report.error(f"ConfigMap/{name}", f"key {key} holds a secret; it belongs in a Secret created out of band")
    for name, secret in by_kind.get("Secret", {}).items():
        keys = set((secret.get("data") or {}) | (secret.get("stringData") or {}))
        if keys - {"runtime-config.toml"}:
            report.error(f"Secret/{name}", f"carries {sorted(keys)} in the manifests; create it out of band "
                                           "(docs/operations.md)")
    report.ok("no secrets in the manifests")


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (identifiers followed by `{` or a range/space, minus functions)."""
    functions = {"sum", "rate", "irate", "increase", "histogram_quantile", "by", "without", "max", "min", "avg",
                 "count", "clamp_min", "clamp_max", "topk", "bottomk", "time", "vector", "on", "ignoring",
                 "group_left", "group_right", "and", "or", "unless", "abs", "delta", "deriv", "label_replace",
                 "sort_desc", "le", "offset", "bool", "absent", "scalar", "avg_over_time", "max_over_time"}
    stripped = re.sub(r'"[^"]*"', '""', expr)
    stripped = re.sub(r"\{[^}]*\}", "{}", stripped)
    stripped = re.sub(r"\[[^\]]*\]", "[]", stripped)
    stripped = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", stripped)
    names = set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b", stripped))
    return {n for n in names if n not in functions and not re.fullmatch(r"[0-9e]+", n)}


def json_compatible(value):
    """YAML's dates (Loki's schema_config `from: 2024-01-01`) as the strings Loki reads them as."""
    if isinstance(value, dict):
        return {str(k): json_compatible(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_compatible(v) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def collector_log_labels(collector: dict) -> set[str]:
    """Loki stream labels the collector's log records get: the resource attributes its filelog operators set
    (Loki's OTLP endpoint makes service.name etc. labels, dots as underscores)."""
    labels = set()
    for name, receiver in (collector.get("receivers") or {}).items():
        if not name.startswith("filelog"):
            continue
        for operator in receiver.get("operators", []):
            for field in (operator.get("to"), operator.get("field")):
                match = re.fullmatch(r'resource\["([^"]+)"\]', str(field))
                if match:
                    labels.add(match.group(1).replace(".", "_"))
    return labels


def logql_selector_labels(expr: str) -> set[str]:
    """Label names of a LogQL query's stream selectors ({name="...", ...})."""
    names = set()
    for selector in re.findall(r"\{([^{}]*)\}", re.sub(r"`[^`]*`", "``", expr)):
        names |= set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", selector))
    return names


def promtool(args: list[str], where: str, report: Report) -> None:
    tool = shutil.which("promtool")
    if tool is None:
        report.error(where, "promtool is missing: install Debian's (or Ubuntu's) prometheus package "
                            "(apt-get install prometheus), as .ci/run does")
        return
    result = subprocess.run([tool, *args], capture_output=True, text=True)
    if result.returncode != 0:
        for line in (result.stdout + result.stderr).splitlines():
            line = line.strip()
            if line and not re.match(r"(SUCCESS|Checking|Unit Testing|FAILED:$)", line):
                report.error(where, re.sub(r"/\S*/prometheus/", "deploy/observability/", line))
    else:
        report.ok(f"promtool {' '.join(args[:2])}: {where}")


def check_observability(files: Files, docs: list[dict], report: Report) -> set[str]:
    """Checks deploy/observability; returns the metric names something here produces (metrics.txt)."""
    obs = "deploy/observability"
    collector = files.yaml(f"{obs}/otel-collector.yaml")
    for pipeline, spec in collector["service"]["pipelines"].items():
        for role in ("receivers", "processors", "exporters"):
            for component in spec.get(role, []):
                defined = collector.get(role, {}) or {}
                if role in ("receivers", "exporters"):
                    defined = {**defined, **(collector.get("connectors", {}) or {})}
                if component not in defined:
                    report.error("otel-collector.yaml", f"pipeline {pipeline} uses undefined {role[:-1]} {component}")
    for extension in collector["service"].get("extensions", []):
        if extension not in (collector.get("extensions") or {}):
            report.error("otel-collector.yaml", f"service uses undefined extension {extension}")
    if not any(name.startswith("logs") for name in collector["service"]["pipelines"]):
        report.error("otel-collector.yaml", "no logs pipeline: the JSON log lines never reach Loki")
    report.ok("OpenTelemetry Collector pipelines")

    prometheus = files.yaml(f"{obs}/prometheus.yml")
    for job in prometheus["scrape_configs"]:
        if not any(group.get("targets") for group in job.get("static_configs", [])):
            report.error("prometheus.yml", f"job {job['job_name']} has no targets")
    report.ok(f"Prometheus: {len(prometheus['scrape_configs'])} scrape jobs")
    # promtool reads rule_files relative to the configuration: check the files as edited, side by side.
    checked = files.tmp / "prometheus"
    checked.mkdir(parents=True, exist_ok=True)
    names = ["prometheus.yml", *prometheus.get("rule_files", []),
             *(t.name for t in sorted((files.repo / obs).glob("*.test.yml")))]
    for name in names:
        (checked / name).write_text(files.text(f"{obs}/{name}"))
    promtool(["check", "config", str(checked / "prometheus.yml")], "prometheus.yml", report)
    for name in names:
        if name.endswith(".test.yml"):
            promtool(["test", "rules", str(checked / name)], name, report)

    loki = json_compatible(files.yaml(f"{obs}/loki.yaml"))
    loki_schema = json.loads((files.repo / "deploy" / "schemas" / LOKI_SCHEMA).read_text())
    for failure in sorted(jsonschema.Draft202012Validator(loki_schema).iter_errors(loki), key=lambda e: list(map(str, e.absolute_path))):
        report.error("loki.yaml", f"{'/'.join(str(p) for p in failure.absolute_path)}: {failure.message}")
    if loki.get("auth_enabled", True):
        report.error("loki.yaml", "auth_enabled must be false: one tenant, and the collector sends no X-Scope-OrgID")
    if not loki.get("limits_config", {}).get("allow_structured_metadata", True):
        report.error("loki.yaml", "limits_config.allow_structured_metadata must stay on: the OTLP endpoint needs it")
    report.ok(f"loki.yaml matches {LOKI_SCHEMA}")

    produced = {line.strip() for line in files.text(f"{obs}/metrics.txt").splitlines()
                if line.strip() and not line.startswith("#")}
    log_labels = collector_log_labels(collector)
    datasources = {}
    for source in sorted((files.repo / obs / "grafana" / "provisioning" / "datasources").glob("*.y*ml")):
        for datasource in files.yaml(str(source.relative_to(files.repo))).get("datasources", []):
            datasources[datasource["uid"]] = datasource["type"]
    dashboard = json.loads(files.text(f"{obs}/grafana/dashboards/pycommerce.json"))
    variables = {v["name"] for v in dashboard.get("templating", {}).get("list", [])}
    panels = [p for p in dashboard["panels"] if p.get("type") != "row"]
    for panel in panels:
        title = panel.get("title")
        targets = panel.get("targets") or []
        if not targets:
            report.error("pycommerce.json", f"panel {title!r} has no query")
        for target in targets:
            source = target.get("datasource") or panel.get("datasource") or {}
            if source.get("uid") not in datasources:
                report.error("pycommerce.json", f"panel {title!r} uses data source {source.get('uid')!r}, which is not provisioned")
                continue
            expr = target.get("expr", "")
            for variable in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", expr):
                if variable not in variables and not variable.startswith("__"):
                    report.error("pycommerce.json", f"panel {title!r} uses ${variable}, which the dashboard does not define")
            if datasources[source["uid"]] == "loki":
                for label in logql_selector_labels(expr):
                    if label not in log_labels:
                        report.error("pycommerce.json", f"panel {title!r} selects streams by {label!r}; the collector "
                                                        f"sets only {sorted(log_labels)}")
                continue
            for metric in metric_names(expr):
                base = re.sub(r"_(bucket|sum|count)$", "", metric)
                if metric not in produced and base not in produced:
                    report.error("pycommerce.json", f"panel {title!r} queries unknown metric {metric}")
    report.ok(f"Grafana dashboard: {len(panels)} panels, data sources {sorted(datasources)}")
    return produced


def check_openapi(repo: pathlib.Path, report: Report) -> None:
    document = json.loads((repo / "docs" / "openapi.json").read_text())
    if not str(document.get("openapi", "")).startswith("3.1."):
        report.error("docs/openapi.json", f"openapi is {document.get('openapi')!r}, not 3.1.x")
    try:
        validate_openapi(document)
    except OpenAPIValidationError as failure:
        report.error("docs/openapi.json", str(failure).splitlines()[0])
    report.ok(f"docs/openapi.json: OpenAPI {document.get('openapi')}, {len(document.get('paths', {}))} paths")


def check_with_bundled_schemas(files: Files, report: Report) -> None:
    tool = pathlib.Path(sys.executable).parent / "check-jsonschema"
    workflows = [str(f.relative_to(files.repo)) for f in sorted((files.repo / ".github" / "workflows").glob("*.y*ml"))]
    checks = [("vendor.compose-spec", ["docker-compose.yml"]), ("vendor.github-workflows", workflows)]
    for schema, relatives in checks:
        for relative in relatives:
            result = subprocess.run([str(tool), "--builtin-schema", schema, str(files.path(relative))],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                for line in (result.stdout + result.stderr).strip().splitlines():
                    report.error(relative, line.strip())
            else:
                report.ok(f"{relative} matches {schema}")


def interpolated_default(text: str) -> str:
    """A compose value with each ${VAR:-default} / ${VAR} replaced by its default (or nothing)."""
    return re.sub(r"\$\{[A-Z][A-Z0-9_]*(?::?[-?]([^}]*))?\}", lambda m: m.group(1) or "", str(text))


def check_compose(files: Files, report: Report) -> None:
    text = files.text("docker-compose.yml")
    compose = yaml.safe_load(text)
    env_example = files.text(".env.example")
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", env_example, re.MULTILINE))
    networks = list(compose.get("networks", {}))
    if len(networks) != 1:
        report.error("docker-compose.yml", f"expected one network, found {networks}")
    for name, service in compose["services"].items():
        one_shot = service.get("restart") == "no"
        if not service.get("restart"):
            report.error("docker-compose.yml", f"service {name} has no restart policy")
        if not one_shot and "healthcheck" not in service:
            report.error("docker-compose.yml", f"service {name} has no healthcheck")
        if service.get("networks") != networks:
            report.error("docker-compose.yml", f"service {name} is not on the {networks} network only")
        # Safe by default: a published port answers on the loopback interface only, never on the LAN.
        for port in service.get("ports", []):
            if isinstance(port, dict):
                host_ip = port.get("host_ip", "")
            else:
                parts = interpolated_default(port).rsplit(":", 2)
                host_ip = parts[0] if len(parts) == 3 else ""
            if host_ip not in ("127.0.0.1", "[::1]", "::1"):
                report.error("docker-compose.yml", f"service {name} publishes {port!r} on every interface: bind it "
                                                   "to 127.0.0.1")
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) if "=" in item else (item, None) for item in environment)
        for key, value in environment.items():
            if re.search(r"PASSWORD|SECRET|TOKEN|PRIVATE_KEY", key) and value and "${" not in str(value):
                report.error("docker-compose.yml", f"service {name} sets {key} to a literal: take it from .env "
                                                   "(${...}), with at most a development default")
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith("./") and not (files.repo / source).exists():
                report.error("docker-compose.yml", f"service {name} mounts {source}, which does not exist")
    for setting in sorted(set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))):
        if setting not in documented:
            report.error("docker-compose.yml", f"${{{setting}}} is not documented in .env.example")
    spin_toml = tomllib.loads(files.text("spin.toml"))
    for variable in spin_toml.get("variables", {}):
        if f"SPIN_VARIABLE_{variable.upper()}" not in documented:
            report.error(".env.example", f"spin.toml variable {variable} is not documented as SPIN_VARIABLE_{variable.upper()}")
    report.ok(f"docker-compose.yml: {len(compose['services'])} services, ports on 127.0.0.1 only; .env.example "
              "documents every setting")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rendered", required=True, type=pathlib.Path)
    parser.add_argument("--repo", required=True, type=pathlib.Path)
    parser.add_argument("--edits", type=pathlib.Path, help="a broken case's edits.yaml")
    parser.add_argument("--kubernetes-version", action="append", dest="versions")
    args = parser.parse_args()
    report = Report()
    edits = yaml.safe_load(args.edits.read_text())["edits"] if args.edits else []
    files = Files(args.repo, edits, report)
    try:
        docs = [doc for doc in yaml.safe_load_all(args.rendered.read_text()) if doc]
        if not docs:
            report.error(str(args.rendered), "no objects rendered")
        spin_toml = tomllib.loads(files.text("spin.toml"))
        by_kind = index(docs)
        namespaces = {doc["metadata"].get("namespace") for doc in docs if doc["kind"] != "Namespace"} - {None}
        namespace = next(iter(namespaces), "default")
        pods = workloads(by_kind)
        validate_objects(docs, args.repo / "deploy" / "schemas", args.versions or ["1.29", "1.33"], report)
        check_references(docs, spin_toml, report)
        produced = check_observability(files, docs, report)
        check_scaling(by_kind, produced, report)
        check_disruption_budgets(by_kind, pods, report)
        flows = yaml.safe_load((args.repo / "deploy" / "tools" / "network-flows.yaml").read_text())
        check_network_policies(by_kind, pods, namespace, flows, report)
        check_secrets(by_kind, report)
        check_openapi(args.repo, report)
        check_with_bundled_schemas(files, report)
        check_compose(files, report)
    finally:
        files.cleanup()
    if report.errors:
        print(f"{report.errors} error(s)")
        return 1
    print("deployment files are valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
