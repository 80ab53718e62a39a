// The app identity's roles on evidence, deployed in the evidence resource group (a role
// assignment lives in its scope's resource group). Same rules as rbac.bicep: least
// privilege, every assignment named guid(scope, principal, role).
param principalId string
param evidenceStorageName string
@description('azd environment name: with the subscription, makes the custom role\'s id and name unique.')
param environmentName string

// Built-in role definition id (the same in every tenant).
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource evidenceStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: evidenceStorageName
}

resource evidenceContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  name: '${evidenceStorageName}/default/evidence'
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

