// A stamp's evidence: its resource group, the evidence account, the custody logs and the
// lock, deployed OUTSIDE azd's deployment by the azd hooks (infra/scripts/evidence.sh):
// before provision (the group and account must exist for infra/main.bicep, which only
// references them) and after it (the stamp identity's roles on the account).
//
// Why apart: `azd down` deletes every resource group tagged with the environment
// (azd-env-name) and, in older azd versions, every group its deployment put a resource
// in. Neither is true of this group, so `azd down` removes the compute stamp and never
// reaches evidence; the lock keeps a hand in the portal from doing it either. Evidence
// is retired on purpose only (docs/deploy.md, Tear down).
//
// Idempotent: `az deployment sub create` with the same inputs changes nothing.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name, e.g. vigil-uk: the same value infra/main.bicep gets, which seeds the same names.')
param environmentName string

@allowed([
  'uk'
  'au'
  'nz'
  'us'
  'ca'
])
@description('Vigil region code of the stamp.')
param geo string

@description('Azure region of the stamp. Empty: the geography\'s region (infra/geographies.json).')
param location string = ''

@allowed([
  'Standard_ZRS'
  'Standard_GZRS'
  'Standard_RAGZRS'
])
@description('Evidence replication. GZRS copies to the paired region: use it only where the pair is inside the geography.')
param evidenceStorageSku string = 'Standard_ZRS'

@description('Days a deleted evidence blob or container can still be restored.')
param evidenceSoftDeleteDays int = 14

@description('Private endpoints (declared by infra/main.bicep) instead of the public endpoint.')
param privateNetworking bool = false

@minValue(365)
@maxValue(4383)
@description('Days the custody logs (who read, wrote or deleted which exhibit) are kept: at least as long as the longest evidence retention.')
param custodyLogRetentionDays int = 3653

@description('Object id of the stamp identity (azd output AZURE_IDENTITY_PRINCIPAL_ID). Empty before the first provision: no role assignments yet.')
param appPrincipalId string = ''

// The same names as infra/main.bicep builds (tests/infra checks): the compute stamp
// finds the account by name, whatever deploys first.
var abbrs = loadJsonContent('../abbreviations.json')
var geographies = loadJsonContent('../geographies.json')
var geography = geographies[geo]
var stampLocation = empty(location) ? geography.location : location
var resourceToken = toLower(uniqueString(subscription().id, environmentName, stampLocation))
var evidenceResourceGroupName = '${abbrs.resourcesResourceGroups}${environmentName}-evidence'
var evidenceStorageName = '${abbrs.storageStorageAccounts}evd${resourceToken}'
var custodyLogsName = '${abbrs.operationalInsightsWorkspaces}evd${resourceToken}'

// No azd-env-name tag: that tag is how `azd down` finds the groups it deletes.
var tags = {
  'vigil-env-name': environmentName
  'vigil-geo': geo
  'vigil-purpose': 'evidence'
}

resource evidenceRg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: evidenceResourceGroupName
  location: stampLocation
  tags: tags
}

// Custody logs beside the evidence they describe: the compute stamp's workspace goes
// with `azd down`, these do not.
module custodyLogs 'custody-logs.bicep' = {
  name: 'evidence-custody-logs'
  scope: evidenceRg
  params: {
    name: custodyLogsName
    location: stampLocation
    tags: tags
    retentionInDays: custodyLogRetentionDays
  }
}

module storage '../app/storage.bicep' = {
  name: 'evidence-storage'
  scope: evidenceRg
  params: {
    evidenceAccountName: evidenceStorageName
    location: stampLocation
    tags: tags
    evidenceSku: evidenceStorageSku
    softDeleteDays: evidenceSoftDeleteDays
    privateNetworking: privateNetworking
    workspaceId: custodyLogs.outputs.workspaceId
  }
}

// Always on, over the whole group (account, custody logs, role assignments): no
// parameter turns it off.
module lock 'lock.bicep' = {
  name: 'evidence-lock'
  scope: evidenceRg
  params: {
    dependsOnAccount: storage.outputs.evidenceAccountName
  }
}

module rbacEvidence '../app/rbac-evidence.bicep' = if (!empty(appPrincipalId)) {
  name: 'evidence-rbac'
  scope: evidenceRg
  params: {
    principalId: appPrincipalId
    evidenceStorageName: storage.outputs.evidenceAccountName
    environmentName: environmentName
  }
}

output AZURE_EVIDENCE_RESOURCE_GROUP string = evidenceRg.name
output AZURE_EVIDENCE_STORAGE_ACCOUNT string = storage.outputs.evidenceAccountName
output AZURE_EVIDENCE_BLOB_ENDPOINT string = storage.outputs.evidenceBlobEndpoint
output AZURE_EVIDENCE_CUSTODY_WORKSPACE_ID string = custodyLogs.outputs.workspaceId
