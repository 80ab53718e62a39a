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
echo "Provisioning geography ${geo} in ${location}"
