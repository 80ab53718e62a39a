// Private endpoints for every service of the stamp (privateNetworking only), each
// registered in its private DNS zone (app/network.bicep).
param location string
param tags object = {}
param subnetId string
@description('Private DNS zone ids by service (network.bicep output zoneIds).')
param zoneIds object
param evidenceStorageId string
param deploymentStorageId string
param cosmosAccountId string
param serviceBusId string
param keyVaultId string
param functionAppId string

var targets = [
  {
    name: 'evidence-blob'
    id: evidenceStorageId
    group: 'blob'
    zone: zoneIds.blob
  }
  {
    // The Functions host's package and state: the app cannot start without it.
    name: 'host-blob'
    id: deploymentStorageId
    group: 'blob'
    zone: zoneIds.blob
  }
  {
    name: 'cosmos'
    id: cosmosAccountId
    group: 'Sql'
    zone: zoneIds.cosmos
  }
  {
    name: 'servicebus'
    id: serviceBusId
    group: 'namespace'
    zone: zoneIds.serviceBus
  }
  {
    name: 'keyvault'
    id: keyVaultId
    group: 'vault'
    zone: zoneIds.keyVault
  }
  {
    // Inbound: the force's network calls the API here; public access is off.
    name: 'api'
    id: functionAppId
    group: 'sites'
    zone: zoneIds.sites
  }
]

resource endpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = [for t in targets: {
  name: 'pep-${t.name}'
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: t.name
        properties: {
          privateLinkServiceId: t.id
          groupIds: [
            t.group
          ]
        }
      }
    ]
  }
}]

resource dns 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [for t in targets: {
  name: 'pep-${t.name}/default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: t.group
        properties: {
          privateDnsZoneId: t.zone
        }
      }
    ]
  }
  dependsOn: [
    endpoint
  ]
}]
