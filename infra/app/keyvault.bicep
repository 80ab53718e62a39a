// Key Vault for the SendGrid API key and the signing settings. App settings point at
// secrets with Key Vault references, so secret values are never in app settings, in
// Bicep or in the deployment history. Secrets are set by the cloud team after the
// first deploy and on rotation (docs/deploy.md).
param name string
param location string
param tags object = {}
param privateNetworking bool = false
@description('Recover this vault from soft delete (after `azd down`) instead of creating it: one deploy only (docs/deploy.md).')
param recover bool = false

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109:default Allow only without privateNetworking (Flex without VNet resolves Key Vault references over the public endpoint); access is RBAC-only
  name: name
  location: location
  tags: tags
  properties: {
    // After `azd down` the vault is soft-deleted and, under purge protection, keeps its
    // name for 90 days: a redeploy recovers it, secrets included (the audit chain keys
    // must outlive the compute that used them).
    createMode: recover ? 'recover' : 'default'
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
