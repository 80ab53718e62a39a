// The Front Door profile alone, made before the function app: the app admits only
// requests carrying this profile's id (X-Azure-FDID), and the rest of Front Door
// (app/frontdoor.bicep) needs the app's host name.
param name string
param tags object = {}

resource profile 'Microsoft.Cdn/profiles@2024-02-01' = {
  name: name
  location: 'global'
  tags: tags
  // Premium: managed WAF rule sets are not offered on Standard.
  sku: {
    name: 'Premium_AzureFrontDoor'
  }
}

output name string = profile.name
output frontDoorId string = profile.properties.frontDoorId
