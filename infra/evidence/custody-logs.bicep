// The evidence group's Log Analytics workspace: every read, write and delete of an
// evidence blob, with the caller's identity (app/storage.bicep's diagnostic setting).
// These lines are the custody trail, so they live as long as evidence may (the
// StorageBlobLogs table keeps them in the archive tier after two years) and outlive
// the compute stamp.
param name string
param location string
param tags object = {}
@description('Days StorageBlobLogs are kept in all (interactive for up to two years, then archived).')
param retentionInDays int = 3653

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 730
    features: {
      disableLocalAuth: true
    }
  }
}

resource blobLogs 'Microsoft.OperationalInsights/workspaces/tables@2022-10-01' = {
  parent: workspace
  name: 'StorageBlobLogs'
  properties: {
    retentionInDays: 730
    totalRetentionInDays: retentionInDays
  }
}

output workspaceId string = workspace.id
