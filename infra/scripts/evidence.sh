#!/bin/sh
# azd hook (preprovision and postprovision): deploys the stamp's evidence group, account,
# custody logs and lock (infra/evidence/evidence.bicep) as a deployment of its own,
# outside azd's. `azd down` deletes only what azd's deployment made, so it never
# reaches evidence. Idempotent: run again, it changes nothing.
#
# Before provision it makes sure the account exists for infra/main.bicep to reference;
# after provision (AZURE_IDENTITY_PRINCIPAL_ID is then an azd output) it also gives the
# stamp identity its roles on the account.
set -eu
cd "$(dirname "$0")/../.."
if ! command -v az >/dev/null 2>&1; then
  echo "The Azure CLI (az) deploys the evidence group outside azd: install it and 'az login' (docs/deploy.md)." >&2
  exit 1
fi
geo="${VIGIL_GEO:-}"
location="${VIGIL_LOCATION:-}"
if [ -z "$location" ]; then
  location=$(python3 -c 'import json,sys; print(json.load(open("infra/geographies.json"))[sys.argv[1]]["location"])' "$geo")
fi
# The same ${VAR=default} substitution azd applies to its own parameters file, from
# the azd environment this hook runs in, so both deployments see the same values. Passed
# as name=value pairs: the Azure CLI then types them by the template's parameters.
params=$(mktemp)
trap 'rm -f "$params"' EXIT
python3 - infra/evidence/evidence.parameters.json >"$params" <<'PY'
import json, os, re, sys
ref = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-=])([^}]*))?\}")
def value(m):
    name, op, default = m.group(1), m.group(2), m.group(3) or ""
    current = os.environ.get(name)
    if op is None:
        return current or ""
    if op.startswith(":"):
        return current if current else default
    return current if current is not None else default
text = ref.sub(value, open(sys.argv[1], encoding="utf-8").read())
for name, spec in json.loads(text)["parameters"].items():
    print(f"{name}={spec['value']}")
PY
set -- --name "vigil-evidence-${AZURE_ENV_NAME}" --location "$location" \
  --template-file infra/evidence/evidence.bicep --only-show-errors --output none
if [ -n "${AZURE_SUBSCRIPTION_ID:-}" ]; then
  set -- "$@" --subscription "$AZURE_SUBSCRIPTION_ID"
fi
while IFS= read -r pair; do
  set -- "$@" --parameters "$pair"
done <"$params"
echo "Deploying evidence group rg-${AZURE_ENV_NAME}-evidence in ${location} (outside azd's deployment)"
az deployment sub create "$@"
