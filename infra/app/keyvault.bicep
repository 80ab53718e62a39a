// Key Vault for the SendGrid API key and the signing settings. App settings point at
// secrets with Key Vault references, so secret values are never in app settings, in
// Bicep or in the deployment history. Secrets are set by the cloud team after the
// first deploy and on rotation (docs/deploy.md).
param name string
param location string
param tags object = {}
param privateNetworking bool = false

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109:default Allow only without privateNetworking (Flex without VNet resolves Key Vault references over the public endpoint); access is RBAC-only
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    // Azure RBAC, not access policies: the app holds Key Vault Secrets User only.
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // A deleted vault or secret cannot be purged before retention ends, even by an owner.
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForTemplateDeployment: false
    enabledForDiskEncryption: false
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    networkAcls: {
      bypass: 'None'
      defaultAction: privateNetworking ? 'Deny' : 'Allow'
    }
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
