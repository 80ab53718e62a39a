// The evidence account, in the stamp's evidence resource group (infra/evidence/evidence.bicep,
// deployed outside azd's deployment): apart from the compute so its lock, lifecycle,
// logs and access never mix with the host's churn, and `azd down` never reaches it. The
// group's CanNotDelete lock (infra/evidence/lock.bicep) covers this account. The
// Functions host's own account is in app/host-storage.bicep.
//
// Container names match shared/names.py BLOB_CONTAINERS (tests/infra checks).
param evidenceAccountName string
param location string
param tags object = {}
param evidenceSku string = 'Standard_ZRS'
param softDeleteDays int = 14
param privateNetworking bool = false
@description('Custody log workspace in the evidence group (infra/evidence/custody-logs.bicep): evidence reads, writes and deletes are custody records.')
param workspaceId string

// Public endpoint on only when the stamp has no private endpoints. Either way every
// request needs an Entra ID token: shared keys and anonymous reads are off.
var publicAccess = privateNetworking ? 'Disabled' : 'Enabled'
var networkAcls = {
  bypass: 'None'
  defaultAction: privateNetworking ? 'Deny' : 'Allow'
}

resource evidence 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_206:ZRS keeps evidence inside the region; GZRS (a parameter) is for geographies whose paired region is in the same country
  // checkov:skip=CKV_AZURE_35:default Allow only without privateNetworking (Flex without VNet reaches storage publicly); access still needs an Entra token and a data role
  // checkov:skip=CKV_AZURE_43:the name is built in main.bicep as 'stevd' + uniqueString(): 18 lowercase letters and digits
  name: evidenceAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: evidenceSku
  }
  properties: {
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    isLocalUserEnabled: false
    isSftpEnabled: false
    publicNetworkAccess: publicAccess
    networkAcls: networkAcls
    encryption: {
      keySource: 'Microsoft.Storage'
      // A second layer of encryption at rest for evidence.
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
        }
      }
    }
  }
}

resource evidenceBlobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: evidence
  name: 'default'
  properties: {
    // Versioning is required for version-level immutability, and keeps every
    // overwrite attempt recoverable.
    isVersioningEnabled: true
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
  }
}

// Originals as received. Version-level immutability lets the adapter put a time-based
// policy and legal holds on each blob version; no container default policy, because
// retention (shared/services) decides each blob's lawful lifetime.
resource evidenceContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: evidenceBlobs
  name: 'evidence'
  properties: {
    publicAccess: 'None'
    immutableStorageWithVersioning: {
      enabled: true
    }
  }
}

// Audit chain checkpoints (docs/audit.md): write-once like evidence; the adapter puts a
// time-based policy on each checkpoint, as long as the longest audit period.
resource auditCheckpointsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: evidenceBlobs
  name: 'audit-checkpoints'
  properties: {
    publicAccess: 'None'
    immutableStorageWithVersioning: {
      enabled: true
    }
  }
}

// Uploads in progress (hashed while received, then copied into evidence) and built
// court packages: no immutability, so abandoned pieces can be removed.
var plainContainers = [
  'evidence-staging'
  'packages'
]

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for c in plainContainers: {
  parent: evidenceBlobs
  name: c
  properties: {
    publicAccess: 'None'
  }
}]

// Staging leftovers (an upload that never completed) go after a day even if the
// staging-sweep timer is not running: base blobs, their old versions and snapshots. Both
// blob types: resumable uploads stage block blobs (shared/adapters/azure/blob_evidence.py),
// and uploads staged by earlier versions are append blobs, which can no longer be resumed
// and would otherwise stay (a rule matches only the types it names; append blobs allow
// delete actions only, which is all this rule does).
resource evidenceLifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: evidence
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'delete-staging-leftovers'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
                'appendBlob'
              ]
              prefixMatch: [
                'evidence-staging/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: 1
                }
              }
              version: {
                delete: {
                  daysAfterCreationGreaterThan: 1
                }
              }
              snapshot: {
                delete: {
                  daysAfterCreationGreaterThan: 1
                }
              }
            }
          }
        }
        {
          // Court packages built for a reader (`court-` names) are served for a day, then
          // built again: whatever is left goes after a day, with its old versions.
          name: 'delete-built-court-packages'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                'packages/court-'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: 1
                }
              }
              version: {
                delete: {
                  daysAfterCreationGreaterThan: 1
                }
              }
            }
          }
        }
        {
          // A shared court package deleted when its share ends leaves its bytes as a
          // previous version (versioning is account-wide): gone the next day. Only
          // versions: a live share's package is the share's to delete.
          name: 'delete-ended-package-versions'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                'packages/'
              ]
            }
            actions: {
              version: {
                delete: {
                  daysAfterCreationGreaterThan: 1
                }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [
    containers
  ]
}

// Every read, write and delete of an evidence blob, with the caller's identity: who
// touched which exhibit when, as custody requires; kept as long as evidence may be.
resource evidenceDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: evidenceBlobs
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'StorageRead'
        enabled: true
      }
      {
        category: 'StorageWrite'
        enabled: true
      }
      {
        category: 'StorageDelete'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

output evidenceAccountName string = evidence.name
output evidenceAccountId string = evidence.id
output evidenceBlobEndpoint string = evidence.properties.primaryEndpoints.blob
