#!/bin/sh
# azd preprovision hook: refuse to provision a stamp whose geography is unknown or whose
# region differs from the geography's, so personal data is never stood up in the wrong
# country. It writes nothing: azd has read infra/main.parameters.json before hooks run.
set -eu
geo="${VIGIL_GEO:-}"
geos=$(python3 -c 'import json; print(" ".join(json.load(open("infra/geographies.json"))))')
case " $geos " in
  *" $geo "*) ;;
  *)
    echo "VIGIL_GEO is '${geo}'; set one of: ${geos} (azd env set VIGIL_GEO uk)." >&2
    exit 1
    ;;
esac
expected=$(python3 -c 'import json,sys; print(json.load(open("infra/geographies.json"))[sys.argv[1]]["location"])' "$geo")
location="${VIGIL_LOCATION:-$expected}"
if [ "$location" != "$expected" ]; then
  echo "VIGIL_LOCATION is ${location} but geography ${geo} is served from ${expected} (infra/geographies.json)." >&2
  echo "Change infra/geographies.json if the geography's region itself changes." >&2
  exit 1
fi
# After `azd down` the stamp's Key Vault is soft-deleted and keeps its name (purge
# protection): creating it again fails, recovering it keeps the audit chain keys. Say
# which before ARM does, when the Azure CLI can tell (best effort: skipped without it).
recover="${VIGIL_KEY_VAULT_RECOVER:-false}"
if command -v az >/dev/null 2>&1; then
  if deleted=$(az keyvault list-deleted --resource-type vault \
      --query "[?properties.tags.\"azd-env-name\"=='${AZURE_ENV_NAME:-}'].name" -o tsv 2>/dev/null); then
    if [ -n "$deleted" ] && [ "$recover" != "true" ]; then
      echo "Key Vault ${deleted} of this environment is soft-deleted (after azd down). Recover it, secrets included:" >&2
      echo "  azd env set VIGIL_KEY_VAULT_RECOVER true && azd up --no-prompt" >&2
      exit 1
    fi
    if [ -z "$deleted" ] && [ "$recover" = "true" ]; then
      echo "VIGIL_KEY_VAULT_RECOVER is true but no deleted Key Vault of this environment exists:" >&2
      echo "  azd env set VIGIL_KEY_VAULT_RECOVER false" >&2
      exit 1
    fi
  fi
fi
echo "Provisioning geography ${geo} in ${location}"
