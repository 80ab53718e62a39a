"""Operations of a stamp, read from the templates: diagnostic settings to the stamp's
workspace, alerts on what stops reports reaching forces, a budget, locks on records and
keys, and the optional Front Door with its WAF."""

from __future__ import annotations

from tools import infra_check as ic

OPS = ic.APP / "operations.bicep"
EDGE = ic.APP / "frontdoor.bicep"


def _resources(path):
    return ic.parse(path)["resources"]


def _body(resource):
    config = resource["config"]
    return config["config"] if "condition" in config and "config" in config else config


def _of_type(path, kind):
    return {s: _body(r) for s, r in _resources(path).items() if r["type"] == kind}


def test_diagnostic_settings_send_key_vault_cosmos_and_service_bus_logs_to_the_workspace():
    settings = _of_type(OPS, "Microsoft.Insights/diagnosticSettings")
    by_scope = {body["scope"]: body["properties"] for body in settings.values()}
    assert set(by_scope) == {"keyVault", "cosmos", "serviceBus"}
    for props in by_scope.values():
        assert props["workspaceId"] == "workspaceId"
        assert all(log["enabled"] is True for log in props["logs"])
    assert {"categoryGroup": "audit", "enabled": True} in by_scope["keyVault"]["logs"]
    assert {log["category"] for log in by_scope["cosmos"]["logs"]} >= {"DataPlaneRequests", "ControlPlaneRequests"}
    assert {log["category"] for log in by_scope["serviceBus"]["logs"]} >= {"OperationalLogs"}
    main = ic.parse(ic.MAIN)["modules"]["operations"]["config"]["params"]
    assert main["workspaceId"] == "monitoring.outputs.workspaceId" or ic._render(main["workspaceId"]) == "monitoring.outputs.workspaceId"


def test_alerts_for_dead_letters_failures_throttling_and_key_vault_references():
    metric = _of_type(OPS, "Microsoft.Insights/metricAlerts")
    criteria = {
        body["properties"]["criteria"]["allOf"][0]["metricName"]: body["properties"]["criteria"]["allOf"][0] for body in metric.values()
    }
    assert set(criteria) == {"DeadletteredMessages", "requests/failed", "TotalRequests"}
    assert criteria["DeadletteredMessages"]["threshold"] == 0
    assert criteria["TotalRequests"]["dimensions"] == [{"name": "StatusCode", "operator": "Include", "values": ["429"]}]
    for body in metric.values():
        assert body["properties"]["actions"] == "actions"
    query = _of_type(OPS, "Microsoft.Insights/scheduledQueryRules")
    rules = {body["properties"]["criteria"]["allOf"][0]["query"]: body for body in query.values()}
    assert set(rules) == {"keyVaultReferenceQuery", "recordedDeadLetterQuery"}
    for rule in rules.values():
        assert rule["properties"]["skipQueryValidation"] is True and rule["properties"]["criteria"]["allOf"][0]["threshold"] == 0
    # The line the Azure trigger logs once per dead letter it records (tests/d2p/test_dead_letters_store.py).
    assert ic.variables(OPS)["recordedDeadLetterQuery"] == 'AppTraces | where Message startswith "message dead-lettered"'
    text = ic.variables(OPS)["keyVaultReferenceQuery"]
    assert "SecretGet" in text and '"httpStatusCode_d", 0)) >= 400' in text and "${identityPrincipalId}" in text


def test_a_monthly_budget_warns_before_it_is_spent():
    (budget,) = _of_type(OPS, "Microsoft.Consumption/budgets").values()
    props = budget["properties"]
    assert props["timeGrain"] == "Monthly" and props["amount"] == "monthlyBudget"
    thresholds = {(n["thresholdType"], n["threshold"]) for n in props["notifications"].values()}
    assert thresholds == {("Actual", 80), ("Forecasted", 100)}
    params = ic.parse(ic.MAIN)["parameters"]
    assert params["monthlyBudget"]["type"] == "int" and params["alertEmail"]["default"] == ""


def test_records_and_keys_are_locked():
    locks = {
        r["config"]["config"]["scope"]: r["config"]["condition"]
        for r in _resources(OPS).values()
        if r["type"] == "Microsoft.Authorization/locks"
    }
    assert locks == {"cosmos": "resourceLocks", "keyVault": "resourceLocks"}
    for r in _resources(OPS).values():
        if r["type"] == "Microsoft.Authorization/locks":
            assert r["config"]["config"]["properties"]["level"] == "CanNotDelete"
    assert ic.parse(ic.MAIN)["parameters"]["resourceLocks"]["default"] is True


def test_front_door_is_optional_premium_with_managed_rules_and_a_rate_limit():
    main = ic.parse(ic.MAIN)
    assert main["parameters"]["frontDoor"]["default"] is False
    assert main["modules"]["edge"]["config"]["condition"] == "frontDoor"
    assert main["modules"]["edgeProfile"]["config"]["condition"] == "frontDoor"
    assert _body(_resources(ic.APP / "frontdoor-profile.bicep")["profile"])["sku"]["name"] == "Premium_AzureFrontDoor"
    resources = _resources(EDGE)
    waf = _body(resources["waf"])["properties"]
    assert waf["policySettings"]["enabledState"] == "Enabled" and waf["policySettings"]["mode"] == "Prevention"
    assert {s["ruleSetType"] for s in waf["managedRules"]["managedRuleSets"]} >= {"Microsoft_DefaultRuleSet"}
    (rule,) = waf["customRules"]["rules"]
    assert rule["ruleType"] == "RateLimitRule" and rule["rateLimitThreshold"] == "rateLimitPerMinute" and rule["action"] == "Block"
    policy = _body(resources["securityPolicy"])["properties"]["parameters"]
    assert policy["type"] == "WebApplicationFirewall"
    route = _body(resources["route"])["properties"]
    assert route["supportedProtocols"] == ["Https"] and route["forwardingProtocol"] == "HttpsOnly"


def test_behind_front_door_the_app_admits_only_that_front_door():
    api = ic.parse(ic.APP / "api.bicep")
    site = api["resources"]["site"]["config"]["properties"]["siteConfig"]
    restrictions = site["ipSecurityRestrictions"]["operator"]["operands"]
    assert restrictions["true_value"] == [] and restrictions["false_value"] == "frontDoorOnly"
    default = site["ipSecurityRestrictionsDefaultAction"]["operator"]["operands"]
    assert (default["true_value"], default["false_value"]) == ("Allow", "Deny")
    (rule,) = ic.variables(ic.APP / "api.bicep")["frontDoorOnly"]
    assert (rule["action"], rule["tag"], rule["ipAddress"]) == ("Allow", "ServiceTag", "AzureFrontDoor.Backend")
    # pycep keeps a quoted key's quotes.
    assert rule["headers"] == {"'x-azure-fdid'": ["frontDoorId"]}
    passed = ic.parse(ic.MAIN)["modules"]["api"]["config"]["params"]["frontDoorId"]["operator"]["operands"]
    assert passed["condition"] == "frontDoor" and ic._render(passed["true_value"]) == "edgeProfile.outputs.frontDoorId"
    assert passed["false_value"] == ""
