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
# After `azd down` the Key Vault is soft-deleted and keeps its name: say whether to
# recover it before ARM does (best effort: skipped without the Azure CLI).
$recover = if ($env:VIGIL_KEY_VAULT_RECOVER) { $env:VIGIL_KEY_VAULT_RECOVER } else { 'false' }
if (Get-Command az -ErrorAction SilentlyContinue) {
  $deleted = az keyvault list-deleted --resource-type vault --query "[?properties.tags.\"azd-env-name\"=='$($env:AZURE_ENV_NAME)'].name" -o tsv 2>$null
  if ($LASTEXITCODE -eq 0) {
    if ($deleted -and $recover -ne 'true') {
      Write-Error "Key Vault $deleted of this environment is soft-deleted (after azd down). Recover it: azd env set VIGIL_KEY_VAULT_RECOVER true"
      exit 1
    }
    if (-not $deleted -and $recover -eq 'true') {
      Write-Error "VIGIL_KEY_VAULT_RECOVER is true but no deleted Key Vault of this environment exists: azd env set VIGIL_KEY_VAULT_RECOVER false"
      exit 1
    }
  }
}
Write-Host "Provisioning geography $geo in $location"
