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
@description('Autoscale ceiling (RU/s) of the database throughput the small containers share (provisioned mode).')
param autoscaleMaxThroughput int = 4000
@description('Autoscale ceiling (RU/s) of each container with its own throughput (provisioned mode; at least 1000).')
@minValue(1000)
param containerAutoscaleMaxThroughput int = 1000
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

// Provisioned mode: the database's throughput is shared by the small, seldom-written
// containers below, and every other container (the busy ones, and any collection added
// later) has autoscale throughput of its own. Azure lets at most 25 containers share a
// database's throughput (tests/infra/test_deploy_blockers.py counts). Serverless has no
// throughput to set. A container cannot move between shared and its own throughput in
// place: choose the mode before the first deploy.
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

var sharedThroughputContainers = [
  'organisations'
  'stores'
  'sharing'
  'access_grants'
  'sequences'
  'chain_heads'
  'retention_schedules'
  'retention_schedule_versions'
  'retention_counts'
  'legal_holds'
  'tombstones'
  'subject_requests'
  'subject_tasks'
  'd2p_rules'
  'd2p_settings'
  'outcomes'
  'vehicles'
  'alert_subscriptions'
  'anpr_settings'
  'evidence_alerts'
]

var dedicatedOptions = {
  autoscaleSettings: {
    maxThroughput: containerAutoscaleMaxThroughput
  }
}

resource container 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [for c in containers: {
  parent: database
  name: c.name
  properties: {
    resource: c.resource
    options: (serverless || contains(sharedThroughputContainers, c.name)) ? {} : dedicatedOptions
  }
}]

output accountId string = account.id
output accountName string = account.name
output databaseName string = database.name
output endpoint string = account.properties.documentEndpoint
