"""`azd up --no-prompt` needs nothing but VIGIL_GEO: infra/main.parameters.json is
committed, azd substitutes environment variables into it before any hook runs, and what
differs by geography comes from infra/geographies.json, which main.bicep loads."""

from __future__ import annotations

import json
import os
import subprocess
import typing

import pytest

from tools import infra_check as ic

GEOGRAPHIES = json.loads(ic.GEOGRAPHIES.read_text(encoding="utf-8"))
# Object parameters cannot come from one environment variable; each has a default that
# the geographies file completes (regionBaseUrls) or the code's own (schedules).
OBJECT_PARAMETERS = {"regionBaseUrls", "schedules"}
# Evaluated at deploy time (utcNow), so never set from the environment.
DEPLOY_TIME_PARAMETERS = {"budgetFirstMonth"}


def _only_geo(geo: str) -> dict[str, str]:
    # azd always sets the environment's name; nothing else is set here.
    return {"AZURE_ENV_NAME": f"vigil-{geo}", "VIGIL_GEO": geo}


@pytest.mark.parametrize("geo", sorted(GEOGRAPHIES))
def test_every_parameter_resolves_with_only_the_geography_set(geo):
    assert ic.azd_parameter_problems(_only_geo(geo)) == []
    values = ic.azd_parameters(_only_geo(geo))
    assert values["geo"] == geo
    assert values["environmentName"] == f"vigil-{geo}"


def test_a_missing_geography_is_caught_not_prompted_for():
    problems = ic.azd_parameter_problems({"AZURE_ENV_NAME": "vigil-uk"})
    assert problems == ["geo: no value and no default (azd would prompt)"]
    assert ic.azd_parameter_problems(_only_geo("fr")) == ["geo: 'fr' is not one of ['uk', 'au', 'nz', 'us', 'ca']"]


def test_an_environment_variable_overrides_its_default():
    env = {**_only_geo("uk"), "VIGIL_COSMOS_SERVERLESS": "false", "CONSOLE_CLIENT_ID": "11111111-2222-3333-4444-555555555555"}
    values = ic.azd_parameters(env)
    assert values["cosmosServerless"] == "false"
    assert ic.azd_parameter_problems({**env, "VIGIL_COSMOS_SERVERLESS": "maybe"}) == ["cosmosServerless: 'maybe' is not true or false"]


def test_azd_substitution_semantics():
    env = {"SET": "x", "EMPTY": ""}
    assert ic.azd_substitute("${SET}|${UNSET}|${UNSET=d}|${EMPTY=d}|${EMPTY:-d}|${UNSET=}", env) == "x||d||d|"


def test_every_parameter_is_mapped_to_an_environment_variable():
    declared = set(ic.parse(ic.MAIN)["parameters"])
    mapped = set(json.loads(ic.PARAMETERS.read_text(encoding="utf-8"))["parameters"])
    assert declared - mapped == OBJECT_PARAMETERS | DEPLOY_TIME_PARAMETERS
    for name in OBJECT_PARAMETERS:
        assert ic._nullable_default(ic.MAIN, name), f"{name} needs a default"
    for name, spec in json.loads(ic.PARAMETERS.read_text(encoding="utf-8"))["parameters"].items():
        assert ic._AZD_REFERENCE.fullmatch(spec["value"]), f"{name}: one ${{ENV}} reference, so each stamp sets it in its azd environment"


def test_geographies_are_the_regions_the_code_and_bicep_know():
    from shared.settings import Region

    allowed = next(d["argument"] for d in ic.parse(ic.MAIN)["parameters"]["geo"]["decorators"] if d["type"] == "allowed")
    assert set(GEOGRAPHIES) == set(typing.get_args(Region)) == set(allowed)
    for geo, values in GEOGRAPHIES.items():
        assert set(values) == {"location", "baseUrl", "d2pMailFrom", "alertMailFrom"}, geo
        assert values["baseUrl"].startswith("https://")


def test_every_stamp_knows_every_stamps_url():
    """421 answers name the right stamp: the base URLs main.bicep builds cover every geography."""
    base_urls = ic.variables(ic.MAIN)["baseUrls"]
    assert set(base_urls) == set(GEOGRAPHIES)
    for geo, expr in base_urls.items():
        assert ic._render(expr) == f"geographies.{geo}.baseUrl"


def test_no_hook_writes_the_parameters_file():
    """azd reads parameters before preprovision: a file a hook writes is read too late."""
    assert ic.PARAMETERS.exists()
    assert not (ic.INFRA / ".gitignore").exists() or "main.parameters.json" not in (ic.INFRA / ".gitignore").read_text()
    for script in (ic.INFRA / "scripts").glob("*"):
        assert "main.parameters" not in script.read_text(encoding="utf-8").replace("read infra/main.parameters.json", ""), script.name


def _run_hook(tmp_path, env, deleted_vaults=None):
    """Runs the preprovision hook as azd does (from the repo root, the azd environment in
    its environment), with a stand-in `az` that lists the given deleted vaults (the
    machines running these tests have no Azure CLI)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if deleted_vaults is not None:
        fake = bin_dir / "az"
        fake.write_text("#!/bin/sh\nprintf '%s' \"" + "\\n".join(deleted_vaults) + '"\n')
        fake.chmod(0o755)
    return subprocess.run(
        ["sh", str(ic.INFRA / "scripts" / "check-geo.sh")],
        cwd=ic.ROOT,
        env={"PATH": os.pathsep.join([str(bin_dir), os.environ["PATH"]]), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_hook_refuses_an_unknown_geography_or_another_region(tmp_path):
    assert _run_hook(tmp_path, {"AZURE_ENV_NAME": "vigil-uk", "VIGIL_GEO": "uk"}).returncode == 0
    wrong = _run_hook(tmp_path, {"AZURE_ENV_NAME": "vigil-uk", "VIGIL_GEO": "fr"})
    assert wrong.returncode == 1 and "VIGIL_GEO is 'fr'" in wrong.stderr
    elsewhere = _run_hook(tmp_path, {"AZURE_ENV_NAME": "vigil-uk", "VIGIL_GEO": "uk", "VIGIL_LOCATION": "eastus2"})
    assert elsewhere.returncode == 1 and "served from uksouth" in elsewhere.stderr


def test_hook_says_to_recover_the_soft_deleted_key_vault_before_arm_fails(tmp_path):
    env = {"AZURE_ENV_NAME": "vigil-uk", "VIGIL_GEO": "uk"}
    stuck = _run_hook(tmp_path, env, deleted_vaults=["kv-abc123"])
    assert stuck.returncode == 1 and "VIGIL_KEY_VAULT_RECOVER true" in stuck.stderr and "kv-abc123" in stuck.stderr
    assert _run_hook(tmp_path, {**env, "VIGIL_KEY_VAULT_RECOVER": "true"}, deleted_vaults=["kv-abc123"]).returncode == 0
    stale = _run_hook(tmp_path, {**env, "VIGIL_KEY_VAULT_RECOVER": "true"}, deleted_vaults=[])
    assert stale.returncode == 1 and "VIGIL_KEY_VAULT_RECOVER false" in stale.stderr
    assert _run_hook(tmp_path, env, deleted_vaults=[]).returncode == 0
