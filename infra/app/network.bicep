// The stamp's VNet, deployed only when privateNetworking is on (forces that require
// access from their own network only). The function app joins the 'app' subnet for
// outbound calls; every data service gets a private endpoint in 'private-endpoints'
// (app/private-endpoints.bicep) and its public endpoint is switched off. The force's
// network reaches the API through the function app's own private endpoint, over
// peering, VPN or ExpressRoute, with DNS forwarded to the private zones below.
param name string
param location string
param tags object = {}
param addressPrefix string = '10.60.0.0/16'
param appSubnetPrefix string = '10.60.0.0/24'
param endpointSubnetPrefix string = '10.60.1.0/24'

// Default rules only: traffic within the VNet is allowed, inbound from the internet
// is denied. Private endpoints ignore NSGs unless network policies are enabled.
resource nsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: 'nsg-${name}'
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        // Flex Consumption VNet integration needs a subnet delegated to Microsoft.App/environments.
        name: 'app'
        properties: {
          addressPrefix: appSubnetPrefix
          networkSecurityGroup: {
            id: nsg.id
          }
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: endpointSubnetPrefix
          networkSecurityGroup: {
            id: nsg.id
          }
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

// One private DNS zone per service, linked to the VNet, so the usual host names
// resolve to the private endpoints from inside it.
var zoneNames = [
  'privatelink.blob.${environment().suffixes.storage}'
  'privatelink.documents.azure.com'
  'privatelink.servicebus.windows.net'
  'privatelink.vaultcore.azure.net'
  'privatelink.azurewebsites.net'
]

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [for zone in zoneNames: {
  name: zone
  location: 'global'
  tags: tags
}]

resource links 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [for zone in zoneNames: {
  name: '${zone}/${name}'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnet.id
    }
  }
  dependsOn: [
    zones
  ]
}]

output id string = vnet.id
output appSubnetId string = '${vnet.id}/subnets/app'
output endpointSubnetId string = '${vnet.id}/subnets/private-endpoints'
output zoneIds object = {
  blob: zones[0].id
  cosmos: zones[1].id
  serviceBus: zones[2].id
  keyVault: zones[3].id
  sites: zones[4].id
}
