#!/bin/sh
# azd preprovision hook: azd reads infra/main.parameters.json, so copy this
# environment's geography file there. The geography is VIGIL_GEO if set
# (`azd env set VIGIL_GEO uk`), else the last part of the environment name
# (vigil-uk -> uk). The copy is git-ignored (infra/.gitignore).
set -eu
env_name="${AZURE_ENV_NAME:-}"
geo="${VIGIL_GEO:-${env_name##*-}}"
src="infra/main.parameters.${geo}.json"
if [ -z "$geo" ] || [ ! -f "$src" ]; then
  echo "No parameters for geography '${geo}' (environment '${env_name}')." >&2
  echo "Name the environment vigil-<geo> or run: azd env set VIGIL_GEO <geo>; geographies:" >&2
  ls infra/main.parameters.*.json | sed 's/.*main\.parameters\.\(.*\)\.json/  \1/' | grep -v '^  json$' >&2
  exit 1
fi
cp "$src" infra/main.parameters.json
echo "Provisioning geography ${geo} with ${src}"
