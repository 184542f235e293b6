"""Validates Py-Commerce's deployment files; scripts/validate-deploy runs it on the rendered kustomize base.

    python validate.py --rendered RENDERED.yaml --repo REPO_ROOT [--kubernetes-version 1.29 ...]

Checks, each failure printed as `error: ...` and counted (exit status 1 when any):
- every rendered Kubernetes object against the Kubernetes JSON schemas of each given version, strictly
  (unknown fields refused), with the schemas the `kubernetes-validate` package bundles (no network);
- the SpinKube objects (SpinApp, SpinAppExecutor) against deploy/schemas/, which reuse the same bundled
  Kubernetes definitions for the core types they embed (EnvVarSource, Volume, ...);
- references inside the render: ConfigMap keys the SpinApp reads, the HPA's target, the Ingress backend, the
  executor, Service selectors; and the SpinApp's variables against spin.toml (each exists there, and every
  required variable is bound);
- the observability files: the OpenTelemetry Collector pipelines use only defined components, Prometheus
  jobs have targets, and every metric a Grafana panel queries is one that something here produces;
- docs/openapi.json (served by the gateway at /openapi.json) against the OpenAPI 3.1 specification's schema
  (PyPI `openapi-spec-validator`);
- docker-compose.yml against the Compose specification's schema and .github/workflows/*.yml against GitHub's
  workflow schema (both bundled by PyPI `check-jsonschema`);
- docker-compose.yml: one internal network, healthchecks and restart policies, settings documented in
  .env.example.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import subprocess
import sys
import tomllib

import jsonschema
import kubernetes_validate
import yaml
from openapi_spec_validator import validate as validate_openapi
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from referencing import Registry, Resource

SPIN_KINDS = {
    ("core.spinkube.dev/v1alpha1", "SpinApp"): "spinapp-core.spinkube.dev-v1alpha1.json",
    ("core.spinkube.dev/v1alpha1", "SpinAppExecutor"): "spinappexecutor-core.spinkube.dev-v1alpha1.json",
}


class Report:
    def __init__(self) -> None:
        self.errors = 0

    def error(self, where: str, message: str) -> None:
        self.errors += 1
        print(f"error: {where}: {message}")

    def ok(self, message: str) -> None:
        print(f"ok: {message}")


def name_of(doc: dict) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def schema_dir(version: str) -> pathlib.Path:
    """The strict (unknown fields refused) schemas kubernetes-validate bundles for a Kubernetes version."""
    return pathlib.Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{version}.0-local-strict"


def schema_for(doc: dict, version: str, spin_schemas: pathlib.Path) -> dict | None:
    spin_schema = SPIN_KINDS.get((doc.get("apiVersion"), doc.get("kind")))
    if spin_schema:
        return json.loads((spin_schemas / spin_schema).read_text())
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


def check_observability(repo: pathlib.Path, report: Report) -> None:
    obs = repo / "deploy" / "observability"
    collector = yaml.safe_load((obs / "otel-collector.yaml").read_text())
    for pipeline, spec in collector["service"]["pipelines"].items():
        for role in ("receivers", "processors", "exporters"):
            for component in spec.get(role, []):
                defined = collector.get(role, {}) or {}
                if role in ("receivers", "exporters"):
                    defined = {**defined, **(collector.get("connectors", {}) or {})}
                if component not in defined:
                    report.error("otel-collector.yaml", f"pipeline {pipeline} uses undefined {role[:-1]} {component}")
    report.ok("OpenTelemetry Collector pipelines")

    prometheus = yaml.safe_load((obs / "prometheus.yml").read_text())
    for job in prometheus["scrape_configs"]:
        if not any(group.get("targets") for group in job.get("static_configs", [])):
            report.error("prometheus.yml", f"job {job['job_name']} has no targets")
    report.ok(f"Prometheus: {len(prometheus['scrape_configs'])} scrape jobs")

    produced = {line.strip() for line in (obs / "metrics.txt").read_text().splitlines()
                if line.strip() and not line.startswith("#")}
    dashboard = json.loads((obs / "grafana" / "dashboards" / "pycommerce.json").read_text())
    panels = [p for p in dashboard["panels"] if p.get("type") != "row"]
    for panel in panels:
        targets = panel.get("targets") or []
        if not targets:
            report.error("pycommerce.json", f"panel {panel.get('title')!r} has no query")
        for target in targets:
            for metric in metric_names(target["expr"]):
                base = re.sub(r"_(bucket|sum|count)$", "", metric)
                if metric not in produced and base not in produced:
                    report.error("pycommerce.json", f"panel {panel.get('title')!r} queries unknown metric {metric}")
    report.ok(f"Grafana dashboard: {len(panels)} panels")


def check_openapi(repo: pathlib.Path, report: Report) -> None:
    document = json.loads((repo / "docs" / "openapi.json").read_text())
    if not str(document.get("openapi", "")).startswith("3.1."):
        report.error("docs/openapi.json", f"openapi is {document.get('openapi')!r}, not 3.1.x")
    try:
        validate_openapi(document)
    except OpenAPIValidationError as failure:
        report.error("docs/openapi.json", str(failure).splitlines()[0])
    report.ok(f"docs/openapi.json: OpenAPI {document.get('openapi')}, {len(document.get('paths', {}))} paths")


def check_with_bundled_schemas(repo: pathlib.Path, report: Report) -> None:
    tool = pathlib.Path(sys.executable).parent / "check-jsonschema"
    checks = [("vendor.compose-spec", [repo / "docker-compose.yml"]),
              ("vendor.github-workflows", sorted((repo / ".github" / "workflows").glob("*.y*ml")))]
    for schema, files in checks:
        for file in files:
            result = subprocess.run([str(tool), "--builtin-schema", schema, str(file)], capture_output=True, text=True)
            if result.returncode != 0:
                for line in (result.stdout + result.stderr).strip().splitlines():
                    report.error(str(file.relative_to(repo)), line.strip())
            else:
                report.ok(f"{file.relative_to(repo)} matches {schema}")


def check_compose(repo: pathlib.Path, report: Report) -> None:
    compose = yaml.safe_load((repo / "docker-compose.yml").read_text())
    env_example = (repo / ".env.example").read_text()
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
    text = (repo / "docker-compose.yml").read_text()
    for setting in sorted(set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))):
        if setting not in documented:
            report.error("docker-compose.yml", f"${{{setting}}} is not documented in .env.example")
    spin_toml = tomllib.loads((repo / "spin.toml").read_text())
    for variable in spin_toml.get("variables", {}):
        if f"SPIN_VARIABLE_{variable.upper()}" not in documented:
            report.error(".env.example", f"spin.toml variable {variable} is not documented as SPIN_VARIABLE_{variable.upper()}")
    report.ok(f"docker-compose.yml: {len(compose['services'])} services; .env.example documents every setting")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rendered", required=True, type=pathlib.Path)
    parser.add_argument("--repo", required=True, type=pathlib.Path)
    parser.add_argument("--kubernetes-version", action="append", dest="versions")
    args = parser.parse_args()
    report = Report()
    docs = [doc for doc in yaml.safe_load_all(args.rendered.read_text()) if doc]
    if not docs:
        report.error(str(args.rendered), "no objects rendered")
    spin_toml = tomllib.loads((args.repo / "spin.toml").read_text())
    validate_objects(docs, args.repo / "deploy" / "schemas", args.versions or ["1.29", "1.33"], report)
    check_references(docs, spin_toml, report)
    check_observability(args.repo, report)
    check_openapi(args.repo, report)
    check_with_bundled_schemas(args.repo, report)
    check_compose(args.repo, report)
    if report.errors:
        print(f"{report.errors} error(s)")
        return 1
    print("deployment files are valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
