// Cosmos DB (NoSQL) for records: one account per stamp, in the stamp's region only,
// one database per region (<prefix>-<geo>), one container per collection of
// shared/records.py.
//
// Partitioning: every container uses the synthetic key /pk, which the adapter fills
// with the tenant, or "<tenant>|<month>" for a collection that names a
// hierarchical_bucket, so a tenant that outgrows 20 GB spreads over many logical
// partitions. A container's partition key cannot change later (a new container and
// a copy would be needed), hence one path for all.
param accountName string
param databaseName string
param location string
param tags object = {}
param serverless bool = true
param autoscaleMaxThroughput int = 4000
param privateNetworking bool = false

var serverlessCapabilities = [
  {
    name: 'EnableServerless'
  }
]

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  // checkov:skip=CKV_AZURE_101:public network access is off when privateNetworking is on; otherwise every request still needs an Entra token (local auth is off)
  name: accountName
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    // One region, no failover region: the geography's data stays in its region.
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    enableMultipleWriteLocations: false
    enableAutomaticFailover: false
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    capabilities: serverless ? serverlessCapabilities : []
    // Entra ID only: no account keys, and keys could not change databases anyway.
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    networkAclBypass: 'None'
    // Point-in-time restore for the last 7 days, at no extra charge.
    backupPolicy: {
      type: 'Continuous'
      continuousModeProperties: {
        tier: 'Continuous7Days'
      }
    }
  }
}

var autoscaleOptions = {
  autoscaleSettings: {
    maxThroughput: autoscaleMaxThroughput
  }
}

// Throughput is shared by the region's containers (serverless has none to set).
resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
    options: serverless ? {} : autoscaleOptions
  }
}

// Indexing mirrors the adapter (shared/adapters/azure/cosmos_records.py
// container_definition): every path except large free text and snapshots, and each
// composite ordering in both directions. defaultTtl -1 turns TTL on where items expire:
// each item's own `ttl` (from expires_at) decides, and items without one stay.
// BEGIN containers: generated from shared/records.py by `python tools/infra_check.py sync`; edit there, not here.
var containers = [
  {
    name: 'organisations'
    resource: {
      id: 'organisations'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'stores'
    resource: {
      id: 'stores'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'sharing'
    resource: {
      id: 'sharing'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'incidents'
    resource: {
      id: 'incidents'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/narrative/*'
          }
          {
            path: '/witnesses/*'
          }
          {
            path: '/persons/*'
          }
          {
            path: '/goods/*'
          }
          {
            path: '/"_etag"/?'
          }
        ]
        compositeIndexes: [
          [
            {
              path: '/store_id'
              order: 'ascending'
            }
            {
              path: '/occurred_at'
              order: 'ascending'
            }
          ]
          [
            {
              path: '/store_id'
              order: 'descending'
            }
            {
              path: '/occurred_at'
              order: 'descending'
            }
          ]
          [
            {
              path: '/category'
              order: 'ascending'
            }
            {
              path: '/occurred_at'
              order: 'ascending'
            }
          ]
          [
            {
              path: '/category'
              order: 'descending'
            }
            {
              path: '/occurred_at'
              order: 'descending'
            }
          ]
        ]
      }
    }
  }
  {
    name: 'incident_versions'
    resource: {
      id: 'incident_versions'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/snapshot/*'
          }
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'idempotency'
    resource: {
      id: 'idempotency'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      defaultTtl: -1
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'audit'
    resource: {
      id: 'audit'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
        compositeIndexes: [
          [
            {
              path: '/chain'
              order: 'ascending'
            }
            {
              path: '/seq'
              order: 'ascending'
            }
          ]
          [
            {
              path: '/chain'
              order: 'descending'
            }
            {
              path: '/seq'
              order: 'descending'
            }
          ]
        ]
      }
    }
  }
  {
    name: 'access_grants'
    resource: {
      id: 'access_grants'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'chain_heads'
    resource: {
      id: 'chain_heads'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'sequences'
    resource: {
      id: 'sequences'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'retention_schedules'
    resource: {
      id: 'retention_schedules'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'retention_schedule_versions'
    resource: {
      id: 'retention_schedule_versions'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
        compositeIndexes: [
          [
            {
              path: '/scope'
              order: 'ascending'
            }
            {
              path: '/version'
              order: 'ascending'
            }
          ]
          [
            {
              path: '/scope'
              order: 'descending'
            }
            {
              path: '/version'
              order: 'descending'
            }
          ]
        ]
      }
    }
  }
  {
    name: 'retention_index'
    resource: {
      id: 'retention_index'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
        compositeIndexes: [
          [
            {
              path: '/lane'
              order: 'ascending'
            }
            {
              path: '/basis_at'
              order: 'ascending'
            }
          ]
          [
            {
              path: '/lane'
              order: 'descending'
            }
            {
              path: '/basis_at'
              order: 'descending'
            }
          ]
        ]
      }
    }
  }
  {
    name: 'legal_holds'
    resource: {
      id: 'legal_holds'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'tombstones'
    resource: {
      id: 'tombstones'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'retention_counts'
    resource: {
      id: 'retention_counts'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'person_index'
    resource: {
      id: 'person_index'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'subject_requests'
    resource: {
      id: 'subject_requests'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/name/*'
          }
          {
            path: '/when_and_where/*'
          }
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'subject_tasks'
    resource: {
      id: 'subject_tasks'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/name/*'
          }
          {
            path: '/matches/*'
          }
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'evidence'
    resource: {
      id: 'evidence'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'custody'
    resource: {
      id: 'custody'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
        compositeIndexes: [
          [
            {
              path: '/chain'
              order: 'ascending'
            }
            {
              path: '/seq'
              order: 'ascending'
            }
          ]
          [
            {
              path: '/chain'
              order: 'descending'
            }
            {
              path: '/seq'
              order: 'descending'
            }
          ]
        ]
      }
    }
  }
  {
    name: 'evidence_uploads'
    resource: {
      id: 'evidence_uploads'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      defaultTtl: -1
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'evidence_alerts'
    resource: {
      id: 'evidence_alerts'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'd2p_rules'
    resource: {
      id: 'd2p_rules'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'd2p_settings'
    resource: {
      id: 'd2p_settings'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'd2p_evaluations'
    resource: {
      id: 'd2p_evaluations'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'dispatches'
    resource: {
      id: 'dispatches'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'outbox'
    resource: {
      id: 'outbox'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'outcomes'
    resource: {
      id: 'outcomes'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'anpr_reads'
    resource: {
      id: 'anpr_reads'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      defaultTtl: -1
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'vehicles'
    resource: {
      id: 'vehicles'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'anpr_hits'
    resource: {
      id: 'anpr_hits'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'alert_subscriptions'
    resource: {
      id: 'alert_subscriptions'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'alert_deliveries'
    resource: {
      id: 'alert_deliveries'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
  {
    name: 'anpr_settings'
    resource: {
      id: 'anpr_settings'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
]
// END containers

resource container 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [for c in containers: {
  parent: database
  name: c.name
  properties: {
    resource: c.resource
  }
}]

output accountId string = account.id
output accountName string = account.name
output databaseName string = database.name
output endpoint string = account.properties.documentEndpoint
