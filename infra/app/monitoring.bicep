// Log Analytics and workspace-based Application Insights. Local (key) auth is off on
// both: the app sends telemetry with its identity (Monitoring Metrics Publisher).
// Logs are structured and carry no personal data, so 90 days is plenty.
param logAnalyticsName string
param appInsightsName string
param location string
param tags object = {}
param retentionInDays int = 90

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      disableLocalAuth: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
  }
}

output workspaceId string = workspace.id
output appInsightsName string = appInsights.name
// The connection string only locates the ingestion endpoint; with local auth off it
// grants nothing without an Entra token.
output connectionString string = appInsights.properties.ConnectionString
