#!/usr/bin/env python3
"""Checks deploy/ without Docker or Kubernetes: every YAML and JSON file parses, and the pieces
fit together (compose services and their mounted files, Prometheus targets, Grafana provisioning
and dashboards, collector pipelines, one Deployment + Service + PodDisruptionBudget + HPA per
service group with gRPC health probes, the migration Job, the secrets and config they use).

Run by scripts/test.sh; needs PyYAML, and checks the Kubernetes objects against the API schemas
compose.yaml against the Compose specification and lints the Dockerfile where
kubernetes-validate, check-jsonschema and hadolint are installed (scripts/test.sh installs them
into a virtualenv). Exits non-zero with every problem.
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
GROUPS = {
    "cases": "cases",
    "screening-plans": "screening,plans",
    "contracting": "contracting",
    "alerts": "alerts",
}
problems = []


def problem(where, what):
    problems.append(f"{where.relative_to(ROOT) if isinstance(where, pathlib.Path) else where}: {what}")


def load_yaml(path):
    try:
        return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except yaml.YAMLError as e:
        problem(path, f"not YAML: {e}")
        return []


# Every file parses.
docs = {}
for path in sorted(DEPLOY.rglob("*")):
    if path.suffix in (".yaml", ".yml"):
        docs[path] = load_yaml(path)
    elif path.suffix == ".json":
        try:
            docs[path] = [json.loads(path.read_text())]
        except json.JSONDecodeError as e:
            problem(path, f"not JSON: {e}")


def one(name):
    found = docs.get(DEPLOY / name) or [{}]
    return found[0]


# Compose: the service groups, the backing services, files it mounts.
compose = one("compose.yaml")
services = compose.get("services", {})
for needed in ["postgres", "kia-migrate", "otel-collector", "prometheus", "grafana"]:
    if needed not in services:
        problem(DEPLOY / "compose.yaml", f"no service {needed}")
for group, hosted in GROUPS.items():
    svc = services.get(f"kia-{group}")
    if svc is None:
        problem(DEPLOY / "compose.yaml", f"no service kia-{group}")
        continue
    if svc.get("command") != ["serve", "--services", hosted]:
        problem(DEPLOY / "compose.yaml", f"kia-{group} should run serve --services {hosted}")
    env = svc.get("environment", {})
    if not str(env.get("KIA_DATABASE_URL", "")).startswith("postgres://"):
        problem(DEPLOY / "compose.yaml", f"kia-{group} is not on PostgreSQL")
    if "kia-migrate" not in svc.get("depends_on", {}):
        problem(DEPLOY / "compose.yaml", f"kia-{group} does not wait for the migrations")
if services.get("kia-migrate", {}).get("command") != ["migrate"]:
    problem(DEPLOY / "compose.yaml", "kia-migrate should run `kia migrate`")
for name, svc in services.items():
    for volume in svc.get("volumes", []):
        source = volume.split(":")[0]
        if source.startswith("."):
            if not (DEPLOY / source).exists():
                problem(DEPLOY / "compose.yaml", f"{name} mounts {source}, which does not exist")

# Prometheus scrapes every kia service group of the compose file on its metrics port.
prometheus = one("prometheus.yml")
kia_jobs = [j for j in prometheus.get("scrape_configs", []) if j.get("job_name") == "kia"]
names = {n for j in kia_jobs for sd in j.get("dns_sd_configs", []) for n in sd.get("names", [])}
if names != {f"kia-{g}" for g in GROUPS}:
    problem(DEPLOY / "prometheus.yml", f"job kia scrapes {sorted(names)}, not every service group")
metrics_port = str(services.get("kia-cases", {}).get("environment", {}).get("KIA_METRICS_LISTEN", "")).rsplit(":", 1)[-1]
if any(sd.get("port") != int(metrics_port or 0) for j in kia_jobs for sd in j.get("dns_sd_configs", [])):
    problem(DEPLOY / "prometheus.yml", f"kia is scraped on another port than KIA_METRICS_LISTEN ({metrics_port})")

# The collector: every pipeline component is defined.
collector = one("otel-collector.yaml")
for pipeline, spec in collector.get("service", {}).get("pipelines", {}).items():
    for kind in ("receivers", "processors", "exporters"):
        for component in spec.get(kind, []):
            if component not in collector.get(kind, {}):
                problem(DEPLOY / "otel-collector.yaml", f"pipeline {pipeline} uses undefined {kind[:-1]} {component}")

# Grafana: datasource uids the dashboards use are provisioned; the dashboards path is mounted.
datasources = {d.get("uid") for doc in docs.get(DEPLOY / "grafana/provisioning/datasources/kia.yaml", []) for d in doc.get("datasources", [])}
providers = [p for doc in docs.get(DEPLOY / "grafana/provisioning/dashboards/kia.yaml", []) for p in doc.get("providers", [])]
mounted = {v.split(":")[1] for v in services.get("grafana", {}).get("volumes", []) if v.startswith("./grafana/dashboards")}
for p in providers:
    if p.get("options", {}).get("path") not in mounted:
        problem(DEPLOY / "grafana/provisioning/dashboards/kia.yaml", f"dashboards path {p.get('options', {}).get('path')} is not where compose mounts them ({mounted})")
uids = {}


def datasource_uids(node):
    if isinstance(node, dict):
        ds = node.get("datasource")
        if isinstance(ds, dict) and "uid" in ds:
            yield ds["uid"]
        for value in node.values():
            yield from datasource_uids(value)
    elif isinstance(node, list):
        for value in node:
            yield from datasource_uids(value)


for path in sorted((DEPLOY / "grafana/dashboards").glob("*.json")):
    for dashboard in docs.get(path, []):
        uid = dashboard.get("uid")
        if not uid or uid in uids:
            problem(path, f"dashboard uid {uid!r} missing or also used by {uids.get(uid)}")
        uids[uid] = path.name
        for used in set(datasource_uids(dashboard)) - datasources:
            problem(path, f"datasource uid {used} is not provisioned")
        ids = [p.get("id") for p in dashboard.get("panels", [])]
        if len(ids) != len(set(ids)):
            problem(path, "panel ids repeat")

# Kubernetes: per service group a Deployment with gRPC probes, a Service, a PDB and an HPA.
k8s = DEPLOY / "k8s"
kustomization = one("k8s/kustomization.yaml")
listed = set(kustomization.get("resources", []))
objects = []
for path in sorted(k8s.glob("*.yaml")):
    if path.name == "kustomization.yaml":
        continue
    if path.name != "secret.yaml" and path.name not in listed:
        problem(path, "not listed in kustomization.yaml")
    for doc in docs.get(path, []):
        if not doc.get("kind") or not doc.get("apiVersion") or not doc.get("metadata", {}).get("name"):
            problem(path, f"object without kind, apiVersion or name: {str(doc)[:80]}")
        objects.append((path, doc))
by_kind = {}
for path, doc in objects:
    by_kind.setdefault(doc.get("kind"), {})[doc["metadata"]["name"]] = doc
secrets = set(by_kind.get("Secret", {}))
configmaps = set(by_kind.get("ConfigMap", {}))


def check_pod(where, pod):
    for container in pod.get("containers", []):
        for source in container.get("envFrom", []):
            if "secretRef" in source and source["secretRef"]["name"] not in secrets:
                problem(where, f"uses secret {source['secretRef']['name']}, not in secret.yaml")
            if "configMapRef" in source and source["configMapRef"]["name"] not in configmaps:
                problem(where, f"uses config map {source['configMapRef']['name']}, which is not defined")
        security = container.get("securityContext", {})
        if security.get("allowPrivilegeEscalation") is not False or not security.get("readOnlyRootFilesystem"):
            problem(where, "container may escalate privileges or write its root filesystem")
    if not pod.get("securityContext", {}).get("runAsNonRoot"):
        problem(where, "pod may run as root")
    for volume in pod.get("volumes", []):
        if "secret" in volume and volume["secret"]["secretName"] not in secrets:
            problem(where, f"mounts secret {volume['secret']['secretName']}, not in secret.yaml")


for group, hosted in GROUPS.items():
    name = f"kia-{group}"
    deployment = by_kind.get("Deployment", {}).get(name)
    if deployment is None:
        problem(k8s, f"no Deployment {name}")
        continue
    pod = deployment["spec"]["template"]["spec"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    if deployment["spec"]["selector"]["matchLabels"] != labels:
        problem(k8s, f"{name}: selector does not match the pod labels")
    check_pod(f"Deployment {name}", pod)
    container = pod["containers"][0]
    if container.get("args") != ["serve", "--services", hosted]:
        problem(k8s, f"{name} should run serve --services {hosted}")
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        grpc = container.get(probe, {}).get("grpc")
        if not grpc or grpc.get("port") != ports.get("grpc"):
            problem(k8s, f"{name}: {probe} is not a gRPC health probe on the gRPC port")
    service = by_kind.get("Service", {}).get(name)
    if service is None or service["spec"]["selector"] != labels:
        problem(k8s, f"{name}: no Service selecting its pods")
    pdb = by_kind.get("PodDisruptionBudget", {}).get(name)
    if pdb is None or pdb["spec"]["selector"]["matchLabels"] != labels:
        problem(k8s, f"{name}: no PodDisruptionBudget selecting its pods")
    hpa = by_kind.get("HorizontalPodAutoscaler", {}).get(name)
    if hpa is None or hpa["spec"]["scaleTargetRef"]["name"] != name:
        problem(k8s, f"{name}: no HorizontalPodAutoscaler scaling it")
    elif hpa["spec"]["minReplicas"] < 2 or pdb and pdb["spec"].get("minAvailable", 0) >= hpa["spec"]["minReplicas"]:
        problem(k8s, f"{name}: the PodDisruptionBudget leaves no pod to evict at the HPA's minimum")
jobs = by_kind.get("Job", {})
if not any(j["spec"]["template"]["spec"]["containers"][0].get("args") == ["migrate"] for j in jobs.values()):
    problem(k8s, "no Job running `kia migrate`")
for name, job in jobs.items():
    check_pod(f"Job {name}", job["spec"]["template"]["spec"])

# The Compose specification's schema, where check-jsonschema is installed.
try:
    import check_jsonschema  # noqa: F401
except ImportError:
    print("deploy/compose.yaml: check-jsonschema not installed, Compose schema not checked")
else:
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(DEPLOY / "compose.yaml")],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        problem(DEPLOY / "compose.yaml", "not valid against the Compose specification:\n" + result.stdout + result.stderr)
    else:
        print("deploy/compose.yaml: valid against the Compose specification")

# The Dockerfile, with hadolint where it is installed (next to this Python or on the PATH).
hadolint = shutil.which("hadolint", path=f"{pathlib.Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
if hadolint is None:
    print("deploy/Dockerfile: hadolint not installed, not linted")
else:
    result = subprocess.run([hadolint, str(DEPLOY / "Dockerfile")], capture_output=True, text=True)
    if result.returncode != 0:
        problem(DEPLOY / "Dockerfile", "hadolint:\n" + result.stdout + result.stderr)
    else:
        print("deploy/Dockerfile: hadolint finds nothing")

# The Kubernetes API schemas, strictly (unknown fields are errors), where kubernetes-validate is
# installed (pip install kubernetes-validate; 22 MB of schemas, so it is optional).
try:
    import kubernetes_validate
except ImportError:
    print("deploy/k8s: kubernetes-validate not installed, API schemas not checked")
else:
    invalid = 0
    for path, doc in objects:
        try:
            kubernetes_validate.validate(doc, "1.31.0", strict=True)
        except kubernetes_validate.ValidationError as e:
            invalid += 1
            where = ".".join(str(p) for p in e.path)
            problem(path, f"{doc['kind']} {doc['metadata']['name']}: {where}: {e.message}")
    if not invalid:
        print(f"deploy/k8s: {len(objects)} objects valid against the Kubernetes 1.31 API schemas")

if problems:
    print("deploy/ has problems:", file=sys.stderr)
    for p in problems:
        print(f"  - {p}", file=sys.stderr)
    sys.exit(1)
print(f"deploy/: {len(docs)} YAML and JSON files parse and fit together")
