#!/bin/sh
# azd preprovision hook: refuse a wrong geography or region (check-geo.sh), then deploy
# the evidence group outside azd's deployment (evidence.sh), which infra/main.bicep
# references as existing.
set -eu
here="$(dirname "$0")"
sh "$here/check-geo.sh"
sh "$here/evidence.sh"
