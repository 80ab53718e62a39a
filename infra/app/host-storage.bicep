// The Functions host's account: Flex Consumption deployment package and host state
// (timer leases). In the compute resource group; rebuilt by any deploy.
param deploymentAccountName string
param deploymentContainerName string
param location string
param tags object = {}
param privateNetworking bool = false

// Public endpoint on only when the stamp has no private endpoints. Either way every
// request needs an Entra ID token: shared keys are off.
var publicAccess = privateNetworking ? 'Disabled' : 'Enabled'
var networkAcls = {
  bypass: 'None'
  defaultAction: privateNetworking ? 'Deny' : 'Allow'
}

resource deployment 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_206:holds only the deployment package and host state, rebuilt by azd deploy; LRS is enough
  // checkov:skip=CKV_AZURE_35:default Allow only without privateNetworking (Flex without VNet reaches its host storage publicly); access still needs an Entra token
  // checkov:skip=CKV_AZURE_43:the name is built in main.bicep as 'stdep' + uniqueString(): 18 lowercase letters and digits
  name: deploymentAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    isLocalUserEnabled: false
    publicNetworkAccess: publicAccess
    networkAcls: networkAcls
  }
}

resource deploymentBlobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: deployment
  name: 'default'
}

// Flex Consumption reads the app package from here with the identity; it must exist
// before the function app.
resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: deploymentBlobs
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

output deploymentAccountName string = deployment.name
output deploymentAccountId string = deployment.id
// Returned after the container exists, so the function app waits for it.
output deploymentContainerUrl string = '${deployment.properties.primaryEndpoints.blob}${deploymentContainer.name}'
