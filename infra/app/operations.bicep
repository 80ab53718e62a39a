// Operations of a stamp: what reaches the Log Analytics workspace, what wakes someone
// up, what the stamp may cost, and what cannot be deleted by a slip. Evidence storage's
// own logs and lock are with it, outside azd's deployment (infra/evidence/).
param location string
param tags object = {}
param workspaceId string
param appInsightsName string
param cosmosAccountName string
param serviceBusName string
param keyVaultName string
@description('Email of the on-call team for alerts and the budget. Empty: alerts still fire in the portal; the budget mails the subscription\'s owners.')
param alertEmail string = ''
@description('Monthly budget of the stamp\'s resource group, in the billing currency.')
param monthlyBudget int = 1000
@description('First day of the budget\'s first month (yyyy-MM-01).')
param budgetStartDate string
@description('CanNotDelete locks on Cosmos DB and Key Vault (records and keys). Off only for a throwaway test stamp.')
param resourceLocks bool = true
@description('Id of the stamp\'s user-assigned identity: its failed Key Vault reads are unresolved Key Vault references.')
param identityPrincipalId string

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' existing = {
  name: cosmosAccountName
}

resource serviceBus 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusName
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// ---------------------------------------------------------------------------
// Diagnostic settings: to the stamp's workspace
// ---------------------------------------------------------------------------

// Every read of a secret (the app's Key Vault references, an operator's rotation): who,
// when, allowed or not.
resource vaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: keyVault
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

// Control-plane changes and data-plane requests (status codes, throttling), not item contents.
resource cosmosDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: cosmos
  properties: {
    workspaceId: workspaceId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      {
        category: 'DataPlaneRequests'
        enabled: true
      }
      {
        category: 'ControlPlaneRequests'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'Requests'
        enabled: true
      }
    ]
  }
}

resource busDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: serviceBus
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'OperationalLogs'
        enabled: true
      }
      {
        category: 'RuntimeAuditLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

// ---------------------------------------------------------------------------
// Alerts
// ---------------------------------------------------------------------------

var emailReceivers = [
  {
    name: 'on-call'
    emailAddress: alertEmail
    useCommonAlertSchema: true
  }
]

resource onCall 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-vigil-${uniqueString(resourceGroup().id)}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'vigil'
    enabled: true
    emailReceivers: empty(alertEmail) ? [] : emailReceivers
  }
}

var actions = [
  {
    actionGroupId: onCall.id
  }
]

// A dead-lettered D2P dispatch is a report that did not reach its force; an alert or
// webhook delivery is a missed lookout. Replay: `make replay-dead-letters`.
resource deadLetters 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'Dead-lettered messages'
  location: 'global'
  tags: tags
  properties: {
    description: 'A Service Bus queue holds dead-lettered messages (docs/deploy.md, Operations).'
    severity: 1
    enabled: true
    scopes: [
      serviceBus.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'dead-lettered'
          metricName: 'DeadletteredMessages'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Maximum'
          dimensions: [
            {
              name: 'EntityName'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
        }
      ]
    }
    actions: actions
  }
}

// Function executions that failed (HTTP 5xx, trigger exceptions), as Application Insights counts them.
resource functionFailures 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'Function failures'
  location: 'global'
  tags: tags
  properties: {
    description: 'Failed requests or function executions in the last 15 minutes.'
    severity: 2
    enabled: true
    scopes: [
      appInsights.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'failed-requests'
          metricName: 'requests/failed'
          metricNamespace: 'microsoft.insights/components'
          operator: 'GreaterThan'
          threshold: 5
          timeAggregation: 'Count'
        }
      ]
    }
    actions: actions
  }
}

// Throttled Cosmos requests: the stamp needs more throughput (or a hot partition).
resource cosmosThrottling 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'Cosmos DB 429s'
  location: 'global'
  tags: tags
  properties: {
    description: 'Cosmos DB answered 429 (request rate too large): raise throughput or look for a hot partition.'
    severity: 2
    enabled: true
    scopes: [
      cosmos.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'throttled'
          metricName: 'TotalRequests'
          metricNamespace: 'Microsoft.DocumentDB/databaseAccounts'
          operator: 'GreaterThan'
          threshold: 10
          timeAggregation: 'Count'
          dimensions: [
            {
              name: 'StatusCode'
              operator: 'Include'
              values: [
                '429'
              ]
            }
          ]
        }
      ]
    }
    actions: actions
  }
}

// Key Vault reference status: a reference the platform cannot resolve reaches the app as
// the literal "@Microsoft.KeyVault(...)" text. It shows here as the stamp identity's
// secret reads being refused (or naming a secret that does not exist).
// Columns appear in AzureDiagnostics only once a record carries them, and the caller's
// object id arrives under one of two names: column_ifexists keeps the query valid.
var keyVaultReferenceQuery = 'AzureDiagnostics | where ResourceProvider == "MICROSOFT.KEYVAULT" and OperationName == "SecretGet" | where toint(column_ifexists("httpStatusCode_d", 0)) >= 400 | where tostring(column_ifexists("identity_claim_oid_g", "")) == "${identityPrincipalId}" or tostring(column_ifexists("identity_claim_http_schemas_microsoft_com_identity_claims_objectidentifier_g", "")) == "${identityPrincipalId}"'

resource keyVaultReferences 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: 'Key Vault references failing'
  location: location
  tags: tags
  properties: {
    description: 'The stamp identity could not read a secret its app settings reference (not set yet, disabled, or access removed).'
    severity: 1
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    // The table exists only after the first Key Vault log arrives; a new stamp has none yet.
    skipQueryValidation: true
    criteria: {
      allOf: [
        {
          query: keyVaultReferenceQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        onCall.id
      ]
    }
  }
}

// Dead letters the Azure trigger recorded itself (a poison message, or one past its
// deliveries: the standard binding cannot dead-letter on the queue), each logged once
// when recorded. The Service Bus metric above does not see them. Replay: `make
// replay-dead-letters`; the two kinds together are the `vigil.queue.dead_letters` gauge.
var recordedDeadLetterQuery = 'AppTraces | where Message startswith "message dead-lettered"'

resource recordedDeadLetters 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: 'Dead letters recorded by the trigger'
  location: location
  tags: tags
  properties: {
    description: 'A queue message will not be retried and was recorded as a dead letter with its reason (docs/d2p.md, Dead letters).'
    severity: 1
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    // AppTraces exists only once the app has logged; a new stamp has none yet.
    skipQueryValidation: true
    criteria: {
      allOf: [
        {
          query: recordedDeadLetterQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        onCall.id
      ]
    }
  }
}

// ---------------------------------------------------------------------------
// Budget and locks
// ---------------------------------------------------------------------------

var budgetEmails = empty(alertEmail) ? [] : array(alertEmail)

resource budget 'Microsoft.Consumption/budgets@2023-11-01' = {
  name: 'vigil-monthly'
  properties: {
    category: 'Cost'
    amount: monthlyBudget
    timeGrain: 'Monthly'
    timePeriod: {
      startDate: budgetStartDate
    }
    notifications: {
      actual80: {
        enabled: true
        operator: 'GreaterThanOrEqualTo'
        threshold: 80
        thresholdType: 'Actual'
        contactEmails: budgetEmails
        contactRoles: [
          'Owner'
        ]
      }
      forecast100: {
        enabled: true
        operator: 'GreaterThanOrEqualTo'
        threshold: 100
        thresholdType: 'Forecasted'
        contactEmails: budgetEmails
        contactRoles: [
          'Owner'
        ]
      }
    }
  }
}

// Records and the keys that seal the audit and custody chains: deleting either is a
// records decision, taken by removing the lock on purpose, never by a slip or `azd down`.
resource cosmosLock 'Microsoft.Authorization/locks@2020-05-01' = if (resourceLocks) {
  name: 'vigil-records'
  scope: cosmos
  properties: {
    level: 'CanNotDelete'
    notes: 'Incident records, audit and custody chains: retire through docs/deploy.md, Tear down.'
  }
}

resource vaultLock 'Microsoft.Authorization/locks@2020-05-01' = if (resourceLocks) {
  name: 'vigil-keys'
  scope: keyVault
  properties: {
    level: 'CanNotDelete'
    notes: 'Audit chain keys and signing secrets: retire through docs/deploy.md, Tear down.'
  }
}
