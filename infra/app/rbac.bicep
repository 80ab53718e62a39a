// Every role assignment of the stamp, in one place. Least privilege: data-plane roles
// only, each on the one resource that needs it, for the app's user-assigned identity.
// Every assignment is named guid(scope, principal, role), so re-deploying is a no-op.
// tests/infra/test_rbac.py checks this set against what the code uses.
param principalId string
@description('Entra group of the cloud team that sets and rotates secrets. Empty: none.')
param operatorsPrincipalId string = ''
param deploymentStorageName string
param evidenceStorageName string
param cosmosAccountName string
param cosmosDatabaseName string
param serviceBusName string
param keyVaultName string
param appInsightsName string
@description('azd environment name: with the subscription, makes the custom role\'s id and name unique.')
param environmentName string

// Built-in role definition ids (the same in every tenant).
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var serviceBusDataSender = '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
var serviceBusDataReceiver = '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'
// Cosmos DB data-plane role (a Cosmos SQL role definition, not an Azure RBAC role).
var cosmosDataContributor = '00000000-0000-0000-0000-000000000002'

resource deploymentStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: deploymentStorageName
}

resource evidenceStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: evidenceStorageName
}

resource evidenceContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  name: '${evidenceStorageName}/default/evidence'
}

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' existing = {
  name: cosmosAccountName
}

resource serviceBus 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusName
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// Flex Consumption downloads the package and keeps host state (timer leases, keys)
// in this account: Owner is what the platform documents for AzureWebJobsStorage.
resource hostStorageOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deploymentStorage.id, principalId, storageBlobDataOwner)
  scope: deploymentStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Evidence: read, write and delete blobs, and set legal holds (a container write).
resource evidenceContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(evidenceStorage.id, principalId, storageBlobDataContributor)
  scope: evidenceStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// What Contributor lacks and the evidence locker needs, on the evidence container only:
// put a time-based immutability policy on each blob version it commits, and delete
// blob versions when retention ends (the service refuses while a policy or hold lasts).
// A custom role instead of Storage Blob Data Owner, which would also grant ownership,
// ACL, tag and permanent-delete operations. Role names must be unique in the tenant,
// which several subscriptions share, and the same environment name may exist in each:
// both the id and the name carry the subscription and the environment.
resource evidenceLockerRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'vigil-evidence-locker')
  properties: {
    roleName: 'Vigil evidence locker (${environmentName}, ${subscription().subscriptionId})'
    description: 'Set immutability policies on, and delete versions of, evidence blobs.'
    type: 'CustomRole'
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: [
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/immutableStorage/runAsSuperUser/action'
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/deleteBlobVersion/action'
        ]
        notDataActions: []
      }
    ]
    assignableScopes: [
      resourceGroup().id
    ]
  }
}

resource evidenceLocker 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(evidenceContainer.id, principalId, evidenceLockerRole.id)
  scope: evidenceContainer
  properties: {
    roleDefinitionId: evidenceLockerRole.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// The app both sends (dispatch, alerts, webhooks) and receives (its queue triggers).
resource busSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(serviceBus.id, principalId, serviceBusDataSender)
  scope: serviceBus
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceBusDataSender)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource busReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(serviceBus.id, principalId, serviceBusDataReceiver)
  scope: serviceBus
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceBusDataReceiver)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Read secret values for Key Vault references; cannot list keys or change anything.
resource vaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, principalId, keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// App Insights has local auth off: telemetry is accepted only from this role.
resource telemetryPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, principalId, monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Records: read and write items in this region's database only (not the account, not
// other databases), which is also all a Cosmos data-plane role can do.
var cosmosScope = '${cosmos.id}/dbs/${cosmosDatabaseName}'

resource recordsContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: cosmos
  name: guid(cosmosScope, principalId, cosmosDataContributor)
  properties: {
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributor}'
    principalId: principalId
    scope: cosmosScope
  }
}

// People, not the app: the cloud team's group may set and rotate secrets.
resource operatorsSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorsPrincipalId)) {
  name: guid(keyVault.id, operatorsPrincipalId, keyVaultSecretsOfficer)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficer)
    principalId: operatorsPrincipalId
    principalType: 'Group'
  }
}
