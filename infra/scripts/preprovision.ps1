# azd preprovision hook (Windows): same as preprovision.sh. Refuse a wrong geography or
# region, then deploy the evidence group outside azd's deployment.
$ErrorActionPreference = 'Stop'
& (Join-Path $PSScriptRoot 'check-geo.ps1')
if ($LASTEXITCODE) { exit $LASTEXITCODE }
& (Join-Path $PSScriptRoot 'evidence.ps1')
if ($LASTEXITCODE) { exit $LASTEXITCODE }
