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

// Indexing mirrors the adapter (shared/adapters/azure/cosmos/definitions.py
// container_definition): every path except large free text and snapshots, and each
// composite ordering in both directions. defaultTtl -1 turns TTL on where items expire:
// each item's own `ttl` (from expires_at) decides, and items without one stay.
// Generated from shared/records.py by `python tools/infra_check.py sync`: edit the
// catalogue (or the adapter's container_definition), never the JSON by hand.
var containers = loadJsonContent('cosmos-containers.json')

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
