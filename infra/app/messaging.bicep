// Service Bus: one namespace per stamp, the queues the code uses (shared/names.py QUEUES).
// Retries come from maxDeliveryCount, then the message goes to the queue's dead-letter
// sub-queue; handlers record errors that can never succeed and return instead.
param name string
param location string
param tags object = {}
param privateNetworking bool = false

// Private endpoints need Premium; Standard is the cheapest tier with duplicate detection.
var premium = {
  name: 'Premium'
  tier: 'Premium'
  capacity: 1
}
var standard = {
  name: 'Standard'
  tier: 'Standard'
}

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: privateNetworking ? premium : standard
  properties: {
    // Entra ID only: no SAS keys, no connection strings.
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
  }
}

// requiresDuplicateDetection cannot be changed once a queue exists: a new queue is
// needed to turn it on. D2P dispatch relies on it so that one report reaches one
// force once, whatever the outbox relay resends within the window.
var queues = [
  {
    name: 'd2p-dispatch'
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'P1D'
    maxDeliveryCount: 10
    lockDuration: 'PT2M'
  }
  {
    name: 'anpr-alerts'
    requiresDuplicateDetection: false
    duplicateDetectionHistoryTimeWindow: 'PT10M'
    maxDeliveryCount: 5
    lockDuration: 'PT1M'
  }
  {
    name: 'webhook-deliveries'
    requiresDuplicateDetection: false
    duplicateDetectionHistoryTimeWindow: 'PT10M'
    maxDeliveryCount: 10
    lockDuration: 'PT2M'
  }
  {
    // One message per uploaded video; a job runs for minutes, so the lock is the longest
    // Service Bus allows and the host renews it (host.json maxAutoLockRenewalDuration).
    name: 'evidence-video'
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'P1D'
    maxDeliveryCount: 3
    lockDuration: 'PT5M'
  }
  {
    name: 'footage-mail'
    requiresDuplicateDetection: false
    duplicateDetectionHistoryTimeWindow: 'PT10M'
    maxDeliveryCount: 10
    lockDuration: 'PT1M'
  }
  {
    // Lookouts: one message per recipient store's mailbox or webhook; the
    // outbox may move one twice, and duplicate detection drops the copy.
    name: 'lookout-deliveries'
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'P1D'
    maxDeliveryCount: 10
    lockDuration: 'PT1M'
  }
  {
    // Court packages: one message per package to build; readers polling while it is
    // built send the same id, so the window is as long as a poll may wait for one build.
    name: 'court-packages'
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT10M'
    maxDeliveryCount: 3
    lockDuration: 'PT5M'
  }
]

resource queue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = [for q in queues: {
  parent: namespace
  name: q.name
  properties: {
    requiresDuplicateDetection: q.requiresDuplicateDetection
    duplicateDetectionHistoryTimeWindow: q.duplicateDetectionHistoryTimeWindow
    maxDeliveryCount: q.maxDeliveryCount
    lockDuration: q.lockDuration
    // Expired messages are kept for inspection, not dropped.
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: 'P14D'
    enablePartitioning: false
  }
}]

output id string = namespace.id
output name string = namespace.name
// serviceBusEndpoint is https://<name>.servicebus.windows.net:443/ (cloud-specific suffix).
output fullyQualifiedNamespace string = replace(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':443/', '')
