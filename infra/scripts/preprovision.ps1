# azd preprovision hook (Windows): same as preprovision.sh. Refuse a wrong geography or
# region, then deploy the evidence group outside azd's deployment.
$ErrorActionPreference = 'Stop'
# check-geo.ps1 stops with an error (Stop above) when it refuses; the exit code it may
# leave behind is its tolerated `az keyvault list-deleted` call's, so it is not checked.
& (Join-Path $PSScriptRoot 'check-geo.ps1')
$global:LASTEXITCODE = 0
& (Join-Path $PSScriptRoot 'evidence.ps1')
exit $LASTEXITCODE
