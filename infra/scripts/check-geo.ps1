# azd preprovision hook (Windows): same checks as check-geo.sh. Writes nothing: azd has
# read infra/main.parameters.json before hooks run.
$ErrorActionPreference = 'Stop'
$geographies = Get-Content infra/geographies.json -Raw | ConvertFrom-Json
$geo = $env:VIGIL_GEO
$known = $geographies.PSObject.Properties.Name
if (-not $geo -or -not ($known -contains $geo)) {
  Write-Error "VIGIL_GEO is '$geo'; set one of: $($known -join ' ') (azd env set VIGIL_GEO uk)."
  exit 1
}
$expected = $geographies.$geo.location
$location = if ($env:VIGIL_LOCATION) { $env:VIGIL_LOCATION } else { $expected }
if ($location -ne $expected) {
  Write-Error "VIGIL_LOCATION is $location but geography $geo is served from $expected (infra/geographies.json)."
  exit 1
}
Write-Host "Provisioning geography $geo in $location"
