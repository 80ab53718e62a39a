"""Checks for the Bicep under infra/, runnable here (the Bicep CLI is not installable).

    .venv/bin/python tools/infra_check.py            # parse + wiring + checkov
    .venv/bin/python tools/infra_check.py parse      # pycep-parser and module wiring only
    .venv/bin/python tools/infra_check.py checkov    # security checks only
    .venv/bin/python tools/infra_check.py sync       # regenerate what is derived from the code

- parse: every .bicep parses with pycep-parser, and every module call matches the
  module it calls (file exists, parameters declared and required ones given, outputs
  used exist). That is what a compile would catch first.
- checkov: runs in its own environment (.venv-checkov/, made once, git-ignored),
  because checkov pins an old pycep-parser. Fails on any parsing error (checkov
  otherwise skips a file it cannot parse and exits 0), on any failed check not skipped
  inline with a reason (`// checkov:skip=CKV_AZURE_35:why`), and on inline skips for
  checks that never ran.
- sync: rewrites infra/app/cosmos-containers.json (loaded by data.bicep) from
  shared/records.py, and adds to local.settings.sample.json the settings the code
  has and the sample lacks (dropping VIGIL_ ones the code no longer has).

Also a library for tests/infra: the extractors below read the parsed templates.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"
APP = INFRA / "app"
LOCAL_SETTINGS_SAMPLE = ROOT / "local.settings.sample.json"

CHECKOV_PIN = "3.3.30"
CHECKOV_VENV = ROOT / ".venv-checkov"
CHECKOV_TIMEOUT_S = 300

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------


# Modules written with the Microsoft Graph extension (`extension microsoftGraphV1`), which
# neither pycep-parser nor checkov's parser reads: tests/infra/test_entra.py checks them.
GRAPH_DIR = INFRA / "identity"


def bicep_files() -> list[Path]:
    return sorted(p for p in INFRA.rglob("*.bicep") if GRAPH_DIR not in p.parents)


def graph_bicep_files() -> list[Path]:
    return sorted(GRAPH_DIR.rglob("*.bicep"))


@cache
def _parse_cached(path: Path, mtime_ns: int) -> dict[str, Any]:
    try:
        from pycep import BicepParser
    except ImportError as exc:  # pragma: no cover - environment problem, said plainly
        raise ImportError("pycep-parser is missing: pip install pycep-parser==0.7.1 (requirements-dev.txt)") from exc

    # pycep types the tree as a TypedDict; the checks below walk it as plain JSON.
    return cast(dict[str, Any], BicepParser().parse(text=path.read_text(encoding="utf-8")))


def parse(path: Path) -> dict[str, Any]:
    """The pycep JSON of one Bicep file (raises on a syntax error)."""
    path = Path(path).resolve()
    return _parse_cached(path, path.stat().st_mtime_ns)


def parse_problems() -> list[str]:
    problems = []
    for path in bicep_files():
        try:
            parse(path)
        except Exception as exc:  # noqa: BLE001 - any parser error is the finding
            first = str(exc).strip().splitlines()[:6]
            problems.append(f"{path.relative_to(ROOT)}: does not parse: " + " | ".join(first))
    return problems


# ---------------------------------------------------------------------------
# Module wiring: what `bicep build` would reject first
# ---------------------------------------------------------------------------


def _module_body(module: dict[str, Any]) -> dict[str, Any]:
    config = module.get("config", {})
    # A conditional module (`= if (...) {...}`) nests its body one level deeper.
    if "condition" in config and "config" in config:
        return config["config"]
    return config


_OUTPUT_REF = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\.outputs\.([A-Za-z_][A-Za-z0-9_]*)")


def wiring_problems() -> list[str]:
    problems = []
    for path in bicep_files():
        try:
            tree = parse(path)
        except Exception:  # noqa: BLE001 - reported by parse_problems
            continue
        rel = path.relative_to(ROOT)
        targets: dict[str, dict[str, Any]] = {}
        for symbol, module in (tree.get("modules") or {}).items():
            target = (path.parent / module["detail"]["path"]).resolve()
            if not target.exists():
                problems.append(f"{rel}: module {symbol} calls missing file {module['detail']['path']}")
                continue
            try:
                callee = parse(target)
            except Exception:  # noqa: BLE001
                continue
            targets[symbol] = callee
            declared = callee.get("parameters") or {}
            given = _module_body(module).get("params") or {}
            for name in given:
                if name not in declared:
                    problems.append(f"{rel}: module {symbol} passes {name}, which {target.name} does not declare")
            for name, spec in declared.items():
                if spec.get("default") is None and name not in given and not _nullable_default(target, name):
                    problems.append(f"{rel}: module {symbol} does not pass required parameter {name} of {target.name}")
        text = path.read_text(encoding="utf-8")
        for symbol, output in _OUTPUT_REF.findall(text):
            if symbol in targets and output not in (targets[symbol].get("outputs") or {}):
                problems.append(f"{rel}: {symbol}.outputs.{output} is not an output of module {symbol}")
    return problems


def _nullable_default(path: Path, name: str) -> bool:
    """pycep gives default None both for `param x string` and `param x string = null`."""
    return re.search(rf"^\s*param\s+{re.escape(name)}\s+\S+\s*=", path.read_text(encoding="utf-8"), re.M) is not None


# ---------------------------------------------------------------------------
# Reading values out of the templates
# ---------------------------------------------------------------------------


def _literal(value: Any) -> Any:
    """pycep writes -1 as minus(1): fold such constants back to numbers, recursively."""
    if isinstance(value, dict):
        op = value.get("operator")
        if isinstance(op, dict) and op.get("type") == "minus" and set(op.get("operands", {})) == {"integer_value"}:
            return -int(op["operands"]["integer_value"])
        return {k: _literal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_literal(v) for v in value]
    return value


def variables(path: Path) -> dict[str, Any]:
    return {name: _literal(spec["value"]) for name, spec in (parse(path).get("variables") or {}).items()}


def symbols(path: Path) -> set[str]:
    """Every name declared in a file. pycep writes an identifier and a string literal
    alike, so a value equal to one of these names is a reference, not a literal."""
    tree = parse(path)
    return {name for part in ("parameters", "variables", "resources", "modules") for name in (tree.get(part) or {})}


_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def interpolate(text: str, tree: dict[str, Any]) -> str:
    """Put string variables into `${name}` holes, one level deep (so '${kvRef}x)' reads
    '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=x)')."""
    variables_ = tree.get("variables") or {}

    def hole(match: re.Match[str]) -> str:
        value = variables_.get(match.group(1), {}).get("value")
        return value if isinstance(value, str) else match.group(0)

    return _INTERPOLATION.sub(hole, text)


def _resolve(value: Any, tree: dict[str, Any]) -> Any:
    """Follow variable names and union() calls to a literal object where possible."""
    if isinstance(value, str):
        if value in (tree.get("variables") or {}):
            return _resolve(tree["variables"][value]["value"], tree)
        if value in (tree.get("parameters") or {}):
            default = tree["parameters"][value].get("default")
            return _resolve(default, tree) if default is not None else value
        return interpolate(value, tree) if "${" in value else value
    if isinstance(value, dict) and "function" not in value and "operator" not in value:
        return {k: _resolve(v, tree) if isinstance(v, str) and "${" in v else v for k, v in value.items()}
    if isinstance(value, dict) and "function" in value and value["function"].get("type") == "union":
        merged: dict[str, Any] = {}
        for arg in value["function"]["parameters"].values():
            resolved = _resolve(arg, tree)
            if isinstance(resolved, dict) and "function" not in resolved and "operator" not in resolved:
                merged.update(resolved)
        return merged
    return value


def app_settings() -> dict[str, Any]:
    """The app settings main.bicep hands to the function app (api module's appSettings)."""
    tree = parse(MAIN)
    api = _module_body(tree["modules"]["api"])
    return _resolve(api["params"]["appSettings"], tree)


COSMOS_CONTAINERS_JSON = APP / "cosmos-containers.json"


def cosmos_containers() -> list[dict[str, Any]]:
    """Entries (name, resource) of `var containers` in infra/app/data.bicep, which loads
    them from cosmos-containers.json."""
    value = variables(APP / "data.bicep")["containers"]
    if isinstance(value, dict) and value.get("function", {}).get("type") == "load_json_content":
        path = APP / value["function"]["parameters"]["file_path"]
        return json.loads(path.read_text(encoding="utf-8"))
    return value


def cosmos_database_name_expr() -> str:
    return variables(MAIN)["cosmosDatabaseName"]


def service_bus_queues() -> list[dict[str, Any]]:
    return variables(APP / "messaging.bicep")["queues"]


def blob_containers() -> dict[str, dict[str, Any]]:
    """Blob containers on the evidence account: name -> properties."""
    path = APP / "storage.bicep"
    tree = parse(path)
    found: dict[str, dict[str, Any]] = {}
    for resource in tree["resources"].values():
        if resource["type"] != "Microsoft.Storage/storageAccounts/blobServices/containers":
            continue
        config = resource["config"]
        if "loop_type" in config:
            items = _resolve(config["loop_type"]["detail"]["array_name"], tree)
            body = config["config"]
            if body.get("parent") != "evidenceBlobs":
                continue
            for item in items:
                found[item] = body.get("properties") or {}
        elif config.get("parent") == "evidenceBlobs":
            found[config["name"]] = config.get("properties") or {}
    return found


@dataclass(frozen=True)
class RoleAssignment:
    symbol: str
    kind: str  # "azure" (Microsoft.Authorization) or "cosmos" (sqlRoleAssignments)
    scope: str  # symbol of the existing resource it is scoped to
    scope_type: str
    role_id: str
    principal: str  # parameter name of the principal
    name_args: tuple[str, ...]  # guid(...) arguments as written
    conditional: bool


# Role assignments live in their scope's resource group: the compute group's in
# rbac.bicep, the evidence group's in rbac-evidence.bicep.
RBAC_FILES = (APP / "rbac.bicep", APP / "rbac-evidence.bicep")


def role_assignments() -> list[RoleAssignment]:
    return [a for path in RBAC_FILES for a in _role_assignments(path)]


def _role_assignments(path: Path) -> list[RoleAssignment]:
    tree = parse(path)
    vars_ = {k: v["value"] for k, v in (tree.get("variables") or {}).items()}
    resources = tree["resources"]
    found = []
    for symbol, res in resources.items():
        config = res["config"]
        conditional = "condition" in config and "config" in config
        body = config["config"] if conditional else config
        name = body.get("name")
        if not (isinstance(name, dict) and name.get("function", {}).get("type") == "guid"):
            name_args: tuple[str, ...] = ()
        else:
            name_args = tuple(_render(a) for a in name["function"]["parameters"].values() if a is not None)
        props = body.get("properties") or {}
        if res["type"] == "Microsoft.Authorization/roleAssignments":
            role = props["roleDefinitionId"]
            if "function" in role:  # subscriptionResourceId(..., <built-in role id var>)
                role_var = role["function"]["parameters"]["resource_name_1"]
                role_id = vars_.get(role_var, role_var)
            else:  # <custom role definition symbol>.id
                role_id = "custom:" + _render(role).removesuffix(".id")
            scope = body["scope"]
            found.append(
                RoleAssignment(symbol, "azure", scope, resources[scope]["type"], role_id, props["principalId"], name_args, conditional)
            )
        elif res["type"] == "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments":
            role_id = props["roleDefinitionId"].rsplit("/", 1)[-1]
            role_id = vars_.get(role_id.strip("${}"), role_id) if role_id.startswith("${") else role_id
            found.append(
                RoleAssignment(
                    symbol,
                    "cosmos",
                    body["parent"],
                    resources[body["parent"]]["type"],
                    role_id,
                    props["principalId"],
                    name_args,
                    conditional,
                )
            )
    return found


def _render(value: Any) -> str:
    """A compact text form of a pycep expression (enough to compare guid() arguments)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "operator" in value and value["operator"]["type"] == "property_accessor":
        ops = value["operator"]["operands"]
        return f"{_render(ops['operand_1'])}.{_render(ops['operand_2'])}"
    return json.dumps(value, sort_keys=True)


def custom_roles() -> dict[str, dict[str, Any]]:
    """Custom role definitions in the rbac files: symbol -> permissions (actions, dataActions)."""
    found = {}
    for symbol, res in ((s, r) for path in RBAC_FILES for s, r in parse(path)["resources"].items()):
        if res["type"] == "Microsoft.Authorization/roleDefinitions":
            perms = res["config"]["properties"]["permissions"]
            found[symbol] = {
                "actions": sorted(a for p in perms for a in p.get("actions", [])),
                "dataActions": sorted(a for p in perms for a in p.get("dataActions", [])),
                "assignableScopes": res["config"]["properties"]["assignableScopes"],
            }
    return found


def rbac_variables() -> dict[str, Any]:
    return {name: value for path in RBAC_FILES for name, value in variables(path).items()}


def rbac_resource(symbol: str) -> dict[str, Any]:
    """A resource (an existing scope, a role) of whichever rbac file declares it."""
    return next(parse(path)["resources"][symbol] for path in RBAC_FILES if symbol in parse(path)["resources"])


# ---------------------------------------------------------------------------
# azd parameters: infra/main.parameters.json as azd resolves it
# ---------------------------------------------------------------------------

PARAMETERS = INFRA / "main.parameters.json"
GEOGRAPHIES = INFRA / "geographies.json"
# The evidence group's own deployment, run by the azd hooks outside azd's (docs/deploy.md).
EVIDENCE_MAIN = INFRA / "evidence" / "evidence.bicep"
EVIDENCE_PARAMETERS = INFRA / "evidence" / "evidence.parameters.json"

# azd substitutes environment variables into the parameters file's text before parsing
# it: ${NAME}, ${NAME=default} (default when unset), ${NAME:-default} (also when empty).
_AZD_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-=])([^}]*))?\}")


def azd_substitute(text: str, env: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name, op, default = match.group(1), match.group(2), match.group(3) or ""
        current = env.get(name)
        if op is None:
            return current or ""
        if op.startswith(":"):
            return current if current else default
        return current if current is not None else default

    return _AZD_REFERENCE.sub(value, text)


def azd_parameters(env: dict[str, str], parameters: Path = PARAMETERS) -> dict[str, Any]:
    """Parameter values of infra/main.parameters.json (or another parameters file the
    hooks substitute the same way) after azd's substitution."""
    text = azd_substitute(parameters.read_text(encoding="utf-8"), env)
    return {name: spec.get("value") for name, spec in json.loads(text)["parameters"].items()}


def azd_parameter_problems(env: dict[str, str], template: Path = MAIN, parameters: Path = PARAMETERS) -> list[str]:
    """What would make `azd up --no-prompt` prompt or fail for this environment: a Bicep
    parameter without a default left without a value, a value for an undeclared
    parameter, a value outside a parameter's @allowed list or of the wrong type."""
    declared = parse(template)["parameters"]
    values = azd_parameters(env, parameters)
    problems = [f"{name}: not a parameter of {template.name}" for name in values if name not in declared]
    for name, spec in declared.items():
        has_default = spec.get("default") is not None or _nullable_default(template, name)
        value = values.get(name)
        if value in (None, ""):
            if not has_default:
                problems.append(f"{name}: no value and no default (azd would prompt)")
            continue
        kind = spec.get("type")
        text = str(value)
        if kind == "bool" and text not in ("true", "false"):
            problems.append(f"{name}: {text!r} is not true or false")
        if kind == "int" and not re.fullmatch(r"-?[0-9]+", text):
            problems.append(f"{name}: {text!r} is not a whole number")
        allowed = next((d["argument"] for d in spec.get("decorators") or [] if d["type"] == "allowed"), None)
        if allowed is not None and text not in [str(a) for a in allowed]:
            problems.append(f"{name}: {text!r} is not one of {allowed}")
    return problems


# ---------------------------------------------------------------------------
# What the code says (read dynamically: other engineers add to these)
# ---------------------------------------------------------------------------


def settings_env_names() -> dict[str, str]:
    """VIGIL_<FIELD> -> field name, for every field of shared.settings.Settings."""
    from shared.settings import Settings

    prefix = Settings.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper(): name for name in Settings.model_fields}


def setting_example(field: str) -> str:
    """The env-var form of a Settings field's default (what a sample file would hold)."""
    from pydantic import SecretStr

    from shared.settings import Settings

    info = Settings.model_fields[field]
    value = info.get_default(call_default_factory=True)
    if value is None or isinstance(value, SecretStr):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        return json.dumps(list(value) if isinstance(value, (tuple, set, frozenset)) else value, separators=(",", ":"))
    if hasattr(value, "value") and not isinstance(value, (str, int, float)):
        return str(value.value)
    return str(value)


def secret_fields() -> set[str]:
    """Settings fields holding secrets: typed SecretStr, or named like a key or secret."""
    from pydantic import SecretStr

    from shared.settings import Settings

    found = set()
    for name, info in Settings.model_fields.items():
        annotation = str(info.annotation)
        if info.annotation is SecretStr or "SecretStr" in annotation or re.search(r"(^|_)(key|secret|password|connection_string)$", name):
            found.add(name)
    return found


def code_timer_defaults() -> dict[str, str]:
    """Default schedule of each timer job the code registers (functions/jobs.py)."""
    try:
        from functions import jobs
    except ImportError:
        return {}
    jobs.load_all()
    return {name: timer.default_schedule for name, timer in jobs.TIMER_JOBS.items()}


def queue_settings() -> dict[str, str]:
    from shared import names

    return {names.queue_setting(logical): queue for logical, queue in names.QUEUES.items()}


# ---------------------------------------------------------------------------
# sync: regenerate what is derived from the code
# ---------------------------------------------------------------------------

PARTITION_KEY_PATH = "/pk"


def expected_container(coll: Any) -> dict[str, Any]:
    """The Cosmos container resource for one shared.records.Collection.

    The adapter's own `container_definition` (what it creates on the emulator) is the
    source, so Azure and the tests index alike; Bicep adds the partition key version (2,
    the hash for keys longer than 100 bytes) and leaves out a null TTL.
    """
    from shared.adapters.azure.cosmos import container_definition

    spec = container_definition(coll)
    resource: dict[str, Any] = {
        "id": spec["id"],
        "partitionKey": {**spec["partitionKey"], "version": 2},
    }
    if spec.get("defaultTtl") is not None:
        resource["defaultTtl"] = spec["defaultTtl"]
    resource["indexingPolicy"] = spec["indexingPolicy"]
    return {"name": coll.name, "resource": resource}


def render_containers() -> str:
    from shared.records import ALL

    return json.dumps([expected_container(c) for c in ALL.values()], indent=2) + "\n"


def sync_containers() -> bool:
    text = render_containers()
    if COSMOS_CONTAINERS_JSON.exists() and COSMOS_CONTAINERS_JSON.read_text(encoding="utf-8") == text:
        return False
    COSMOS_CONTAINERS_JSON.write_text(text, encoding="utf-8")
    return True


def expected_local_settings() -> dict[str, str]:
    """What local.settings.sample.json must name, with example values."""
    from shared import names

    values = {
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        "FUNCTIONS_WORKER_RUNTIME": "python",
        f"{names.SERVICE_BUS_CONNECTION}__fullyQualifiedNamespace": "<namespace>.servicebus.windows.net",
    }
    for env, field in settings_env_names().items():
        values[env] = setting_example(field)
    values.update(queue_settings())
    deployed = app_settings()
    for setting in names.TIMERS.values():
        schedule = deployed.get(setting)
        values[setting] = schedule if isinstance(schedule, str) else "0 0 * * * *"
    return values


def sync_local_settings() -> bool:
    from shared import names

    expected = expected_local_settings()
    current: dict[str, Any] = {"IsEncrypted": False, "Values": {}}
    if LOCAL_SETTINGS_SAMPLE.exists():
        current = json.loads(LOCAL_SETTINGS_SAMPLE.read_text(encoding="utf-8"))
    values = current.setdefault("Values", {})
    known = set(settings_env_names())
    changed = False
    for key in list(values):
        if key.startswith("VIGIL_") and key not in known:
            del values[key]
            changed = True
    derived = set(queue_settings()) | set(names.TIMERS.values())
    for key, value in expected.items():
        # Queue names and schedules follow the code; other values are examples to keep.
        if key not in values or (key in derived and values[key] != value):
            values[key] = value
            changed = True
    if changed or not LOCAL_SETTINGS_SAMPLE.exists():
        LOCAL_SETTINGS_SAMPLE.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    return changed


# ---------------------------------------------------------------------------
# checkov, in its own environment
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def _lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_checkov(log=print) -> Path:
    """Create .venv-checkov/ with the pinned checkov once; return the checkov executable."""
    exe = CHECKOV_VENV / "bin" / "checkov"
    marker = CHECKOV_VENV / ".pin"
    # One creator at a time (pytest-xdist workers, parallel make targets).
    lock = Path(tempfile.gettempdir()) / f"vigil-venv-checkov-{hashlib.sha1(str(ROOT).encode()).hexdigest()[:12]}.lock"
    with _lock(lock):
        if exe.exists() and marker.exists() and marker.read_text().strip() == CHECKOV_PIN:
            return exe
        started = time.monotonic()
        log(f"creating {CHECKOV_VENV.name}/ with checkov=={CHECKOV_PIN} (once; about a minute)")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(CHECKOV_VENV)], check=True)
        pip = [str(CHECKOV_VENV / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
        install = subprocess.run([*pip, "install", f"checkov=={CHECKOV_PIN}"], capture_output=True, text=True)
        if install.returncode != 0:
            raise RuntimeError(f"pip install checkov=={CHECKOV_PIN} failed:\n{install.stderr[-3000:]}")
        # Warm the byte-code cache so the first real run is as fast as later ones.
        subprocess.run([str(exe), "--version"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        marker.write_text(CHECKOV_PIN + "\n")
        log(f"{CHECKOV_VENV.name}/ ready in {time.monotonic() - started:.0f} s")
        return exe


def run_checkov(exe: Path | None = None) -> dict[str, Any]:
    """Run checkov over infra/ and return its JSON report (one framework: bicep)."""
    exe = exe or ensure_checkov()
    env = {**os.environ, "LOG_LEVEL": "WARNING", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    proc = subprocess.run(
        [str(exe), "-d", str(INFRA), "--framework", "bicep", "--skip-download", "-o", "json", "--skip-path", GRAPH_DIR.name],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CHECKOV_TIMEOUT_S,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"checkov gave no JSON (exit {proc.returncode}): {proc.stderr[-2000:]}") from exc
    if isinstance(report, list):  # one entry per framework
        report = next((r for r in report if r.get("check_type") == "bicep"), {"summary": {}, "results": {}})
    if "results" not in report:  # nothing scanned: checkov prints a bare summary
        report = {"summary": report, "results": {}}
    return report


_SKIP = re.compile(r"checkov:skip=([A-Z0-9_]+)(:[^\n]*)?")


def checkov_problems(report: dict[str, Any]) -> list[str]:
    problems = []
    summary = report.get("summary", {})
    results = report.get("results", {})
    for path in results.get("parsing_errors", []) or []:
        problems.append(f"checkov could not parse {path}: write Bicep its bundled parser reads")
    if summary.get("parsing_errors") and not results.get("parsing_errors"):
        problems.append(f"checkov reported {summary['parsing_errors']} parsing error(s)")
    if not summary.get("resource_count"):
        problems.append("checkov scanned no resources in infra/")
    for check in results.get("failed_checks", []) or []:
        problems.append(f"{check['check_id']} failed on {check['resource']} ({check['file_path'].lstrip('/')}): {check['check_name']}")
    skipped = set()
    for check in results.get("skipped_checks", []) or []:
        reason = ((check.get("check_result") or {}).get("suppress_comment") or "").strip()
        skipped.add((Path(check["file_path"].lstrip("/")).name, check["check_id"]))
        if not reason or reason == "No comment provided":
            problems.append(f"{check['check_id']} on {check['resource']} is skipped without a reason")
    # An inline skip for a check that never ran is stale (renamed check, moved resource).
    for path in bicep_files():
        for line in path.read_text(encoding="utf-8").splitlines():
            match = _SKIP.search(line)
            if match and (path.name, match.group(1)) not in skipped:
                problems.append(f"{path.relative_to(ROOT)}: inline skip of {match.group(1)} matches no check; remove it")
    return problems


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    what = argv[1] if len(argv) > 1 else "all"
    problems: list[str] = []
    if what == "sync":
        print("infra/app/cosmos-containers.json:", "updated" if sync_containers() else "up to date")
        print("local.settings.sample.json:", "updated" if sync_local_settings() else "up to date")
        return 0
    if what in ("parse", "all"):
        started = time.monotonic()
        problems += parse_problems() + wiring_problems()
        print(f"parse: {len(bicep_files())} files in {time.monotonic() - started:.1f} s")
    if what in ("checkov", "all"):
        exe = ensure_checkov()
        started = time.monotonic()
        report = run_checkov(exe)
        s = report.get("summary", {})
        print(
            f"checkov {CHECKOV_PIN}: {s.get('passed', 0)} passed, {s.get('failed', 0)} failed, "
            f"{s.get('skipped', 0)} skipped inline, {s.get('parsing_errors', 0)} parsing errors "
            f"in {time.monotonic() - started:.1f} s"
        )
        problems += checkov_problems(report)
    if what not in ("parse", "checkov", "all"):
        print(__doc__)
        return 2
    for problem in problems:
        print("  -", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
