// The function app on Flex Consumption: Python 3.11, one user-assigned identity for
// everything (package download, host storage, Key Vault references, data access).
param name string
param planName string
param location string
param tags object = {}
param identityId string
@description('Blob container URL holding the deployment package.')
param deploymentContainerUrl string
param maximumInstanceCount int = 40
param instanceMemoryMB int = 2048
param alwaysReadyInstances int = 0
@description('Every app setting (built in main.bicep).')
param appSettings object
param privateNetworking bool = false
param appSubnetId string = ''
@description('Id (X-Azure-FDID) of the Front Door profile in front of the app. Empty: no Front Door; the app answers directly.')
param frontDoorId string = ''

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225:zone redundancy for Flex Consumption depends on the region; turn it on per stamp where offered
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

// Instances kept warm for HTTP; empty means scale to zero.
var httpAlwaysReady = [
  {
    name: 'http'
    instanceCount: alwaysReadyInstances
  }
]
var alwaysReady = alwaysReadyInstances > 0 ? httpAlwaysReady : []

// Behind Front Door, only its back end carrying this profile's id gets through: the WAF
// and its rate limit cannot be walked around by calling the app's own host name.
var frontDoorOnly = [
  {
    name: 'front-door'
    priority: 100
    action: 'Allow'
    tag: 'ServiceTag'
    ipAddress: 'AzureFrontDoor.Backend'
    headers: {
      'x-azure-fdid': [
        frontDoorId
      ]
    }
  }
]

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222:public network access is off when privateNetworking is on; otherwise retailers' apps and devices call the API over the internet
  // checkov:skip=CKV_AZURE_17:clients authenticate with Entra ID bearer tokens, not client certificates
  // checkov:skip=CKV_AZURE_212:Flex Consumption scales per event; always-ready instances are a cost parameter (functionAlwaysReadyInstances)
  // checkov:skip=CKV_AZURE_213:Flex Consumption does not use the App Service health-check feature; /health is probed by monitoring
  name: name
  location: location
  // azd finds the app to deploy to by this tag (service "api" in azure.yaml).
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    virtualNetworkSubnetId: privateNetworking ? appSubnetId : null
    // Key Vault references resolve with the user-assigned identity.
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      remoteDebuggingEnabled: false
      ipSecurityRestrictions: empty(frontDoorId) ? [] : frontDoorOnly
      ipSecurityRestrictionsDefaultAction: empty(frontDoorId) ? 'Allow' : 'Deny'
      // The API answers only its own clients; browsers use the retailer and police apps' origins.
      cors: {
        allowedOrigins: []
      }
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: alwaysReady
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  // This resource holds app settings only; checkov reads any sites/config as the web config.
  // checkov:skip=CKV_AZURE_13:sign-in is enforced in the app (Entra ID tokens validated per request), not by App Service authentication
  // checkov:skip=CKV_AZURE_63:app settings resource; Flex Consumption logs through Application Insights, not App Service HTTP logs
  // checkov:skip=CKV_AZURE_65:app settings resource; errors are RFC 9457 problems logged to Application Insights, never detailed error pages
  // checkov:skip=CKV_AZURE_66:app settings resource; request traces go to Application Insights (failed request tracing is not offered on Flex Consumption)
  // checkov:skip=CKV_AZURE_80:app settings resource; Python app, no .NET Framework
  // checkov:skip=CKV_AZURE_88:app settings resource; the app keeps no files (Flex Consumption has no Azure Files content share)
  // checkov:skip=CKV_AZURE_222:app settings resource; public network access is set on the site itself
  parent: site
  name: 'appsettings'
  properties: appSettings
}

// No FTP or SCM basic-auth publishing: azd deploys with an Entra ID token.
resource ftp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

output id string = site.id
output name string = site.name
output uri string = 'https://${site.properties.defaultHostName}'
