# azd preprovision hook (Windows): same as select-geo.sh. azd reads
# infra/main.parameters.json, so copy this environment's geography file there.
$ErrorActionPreference = 'Stop'
$geo = $env:VIGIL_GEO
if (-not $geo) { $geo = ($env:AZURE_ENV_NAME -split '-')[-1] }
$src = "infra/main.parameters.$geo.json"
if (-not $geo -or -not (Test-Path $src)) {
  Write-Error "No parameters for geography '$geo' (environment '$env:AZURE_ENV_NAME'). Name the environment vigil-<geo> or run: azd env set VIGIL_GEO <geo>"
  exit 1
}
Copy-Item $src infra/main.parameters.json -Force
Write-Host "Provisioning geography $geo with $src"
