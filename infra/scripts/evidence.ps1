# azd hook (Windows, preprovision and postprovision): same as evidence.sh. Deploys the
# evidence group, account, custody logs and lock (infra/evidence/evidence.bicep) outside
# azd's deployment, so `azd down` never reaches evidence. Idempotent.
$ErrorActionPreference = 'Stop'
Set-Location (Join-Path $PSScriptRoot '../..')
if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
  Write-Error "The Azure CLI (az) deploys the evidence group outside azd: install it and 'az login' (docs/deploy.md)."
  exit 1
}
$geographies = Get-Content infra/geographies.json -Raw | ConvertFrom-Json
$location = if ($env:VIGIL_LOCATION) { $env:VIGIL_LOCATION } else { $geographies.$($env:VIGIL_GEO).location }
# The same ${VAR=default} substitution azd applies to its own parameters file, from the
# azd environment this hook runs in.
$text = Get-Content infra/evidence/evidence.parameters.json -Raw
$resolved = [regex]::Replace($text, '\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-=])([^}]*))?\}', {
    param($m)
    $current = [Environment]::GetEnvironmentVariable($m.Groups[1].Value)
    $default = $m.Groups[3].Value
    if (-not $m.Groups[2].Success) { if ($null -eq $current) { '' } else { $current } }
    elseif ($m.Groups[2].Value.StartsWith(':')) { if ($current) { $current } else { $default } }
    elseif ($null -ne $current) { $current } else { $default }
  })
# Passed as name=value pairs: the Azure CLI then types them by the template's parameters.
$arguments = @('deployment', 'sub', 'create', '--name', "vigil-evidence-$($env:AZURE_ENV_NAME)", '--location', $location,
  '--template-file', 'infra/evidence/evidence.bicep', '--only-show-errors', '--output', 'none')
if ($env:AZURE_SUBSCRIPTION_ID) { $arguments += @('--subscription', $env:AZURE_SUBSCRIPTION_ID) }
foreach ($p in ($resolved | ConvertFrom-Json).parameters.PSObject.Properties) {
  $arguments += @('--parameters', "$($p.Name)=$($p.Value.value)")
}
Write-Host "Deploying evidence group rg-$($env:AZURE_ENV_NAME)-evidence in $location (outside azd's deployment)"
az @arguments
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
