// One Vigil stamp: everything a geography needs, in its own resource group and region.
//
// Deploy with azd (see docs/deploy.md): `azd env new vigil-uk`, `azd env set VIGIL_GEO uk`,
// `azd up --no-prompt`. infra/main.parameters.json maps every parameter to an azd
// environment variable; what differs by geography comes from infra/geographies.json.
//
// Written for the Bicep that checkov's bundled parser reads (tests/infra): no
// user-defined types, lambdas, deployer() or ternaries spread over several lines.
targetScope = 'subscription'

// ---------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('azd environment name, e.g. vigil-uk. Seeds the unique resource names.')
param environmentName string

@description('Azure region of the stamp. Data never leaves it. Empty: the geography\'s region (infra/geographies.json).')
param location string = ''

@allowed([
  'uk'
  'au'
  'nz'
  'us'
  'ca'
])
@description('Vigil region code of this stamp (VIGIL_REGION); names the Cosmos database.')
param geo string

@description('Public base URL of stamps by region code, over the ones in infra/geographies.json (VIGIL_REGION_BASE_URLS): used for 421 answers and case links.')
param regionBaseUrls object = {}

@description('Declare the API\'s and the console\'s Entra app registrations (identity/entra.bicep, Microsoft Graph extension). Off: name existing ones with apiClientId and consoleClientId.')
param entraApps bool = true

@description('Client id of an existing API app registration, used when entraApps is off: v2.0 access tokens carry it as aud.')
param apiClientId string = ''

@description('Application ID URI of the API (api://...), accepted as a second audience. Empty: none.')
param apiIdentifierUri string = ''

@description('Token issuer. Empty: the caller\'s own tenant\'s v2.0 issuer ({tid} is filled from the token).')
param authIssuer string = ''

@description('JWKS URL for token signatures. Empty: Entra ID\'s v2.0 keys.')
param authJwksUrl string = ''

@description('Client id of an existing console app registration, used when entraApps is off (VIGIL_CONSOLE_CLIENT_ID). Empty: the console offers no Entra sign-in.')
param consoleClientId string = ''

@description('Sender of D2P emails (VIGIL_D2P_MAIL_FROM): an address on a domain authenticated in SendGrid. Empty: the geography\'s.')
param d2pMailFrom string = ''

@description('Sender of ANPR alert emails (VIGIL_ALERT_MAIL_FROM): an address on a domain authenticated in SendGrid. Empty: the geography\'s.')
param alertMailFrom string = ''

@description('SendGrid API host. https://api.eu.sendgrid.com keeps mail data in the EU (needs an EU subuser).')
param sendgridHost string = 'https://api.sendgrid.com'

@description('Prefix of the Cosmos database name; the database is <prefix>-<geo>.')
param cosmosDatabasePrefix string = 'vigil'

@description('Serverless Cosmos suits a small stamp; a large one (ANPR) wants provisioned autoscale.')
param cosmosServerless bool = true

@description('Autoscale ceiling (RU/s) the small containers share when not serverless.')
param cosmosAutoscaleMaxThroughput int = 4000

@description('Autoscale ceiling (RU/s) of each busy container, which has throughput of its own when not serverless.')
param cosmosContainerAutoscaleMaxThroughput int = 1000

@description('Upper bound on Flex Consumption instances: caps cost and the load on Cosmos.')
param functionMaximumInstanceCount int = 40

@allowed([
  2048
  4096
])
@description('Memory per Flex Consumption instance.')
param functionInstanceMemoryMB int = 2048

@description('Always-ready HTTP instances (0 = scale to zero, cold starts possible).')
param functionAlwaysReadyInstances int = 0

@description('Lock evidence immutability policies (VIGIL_EVIDENCE_POLICY_LOCKED). A locked policy can never be shortened or removed: turn on once retention periods are settled.')
param evidencePolicyLocked bool = false

@description('Days Log Analytics keeps logs.')
param logRetentionDays int = 90

@description('Private endpoints and VNet integration; public network access off everywhere.')
param privateNetworking bool = false

@description('Address space of the stamp VNet when privateNetworking is on.')
param vnetAddressPrefix string = '10.60.0.0/16'

@description('Recover the stamp\'s soft-deleted Key Vault (after `azd down`) instead of creating it. Set for one deploy, then unset.')
param keyVaultRecover bool = false

@description('Email of the on-call team: alerts and the budget. Empty: alerts show in the portal; the budget mails the subscription\'s owners.')
param alertEmail string = ''

@description('Monthly budget of the stamp\'s resource group, in the billing currency.')
param monthlyBudget int = 1000

@description('First month of the budget (yyyy-MM-01). Empty: the month of this deploy; pin it after the first deploy (docs/deploy.md).')
param budgetStartDate string = ''

@description('Deploy-time default of budgetStartDate; not meant to be set.')
param budgetFirstMonth string = utcNow('yyyy-MM-01')

@description('CanNotDelete locks on Cosmos DB and Key Vault: `azd down` then stops at the records until someone removes them on purpose. Off only for a throwaway test stamp (evidence is locked regardless, outside this deployment).')
param resourceLocks bool = true

@description('Azure Front Door Premium with WAF (managed rules, rate limit) in front of the function app.')
param frontDoor bool = false

@description('Requests per minute one client address may make through Front Door.')
param frontDoorRateLimitPerMinute int = 1200

@description('Object id of the Entra group that sets and rotates Key Vault secrets. Empty: none.')
param operatorsPrincipalId string = ''

@description('Id of the audit chain key that links new entries: a key of the audit-chain-keys secret (rotation: docs/audit.md).')
param auditChainKeyId string = 'k1'

@description('Override timer schedules (six-field NCRONTAB, UTC), e.g. {"SCHEDULE_RETENTION": "0 0 1 * * *"}.')
param schedules object = {}

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

var abbrs = loadJsonContent('abbreviations.json')
// Per-geography defaults in one place: region, public URL, mail senders.
var geographies = loadJsonContent('geographies.json')
var geography = geographies[geo]
var stampLocation = empty(location) ? geography.location : location
var baseUrls = {
  uk: geographies.uk.baseUrl
  au: geographies.au.baseUrl
  nz: geographies.nz.baseUrl
  us: geographies.us.baseUrl
  ca: geographies.ca.baseUrl
}
var resourceToken = toLower(uniqueString(subscription().id, environmentName, stampLocation))
var tags = {
  'azd-env-name': environmentName
  'vigil-geo': geo
}

var identityName = '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
var functionAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'
var planName = '${abbrs.webServerFarms}${resourceToken}'
// Two storage accounts: evidence (locked down, immutable) and the function host's own.
var evidenceStorageName = '${abbrs.storageStorageAccounts}evd${resourceToken}'
// Same names as infra/evidence/evidence.bicep builds (tests/infra checks).
var evidenceResourceGroupName = '${abbrs.resourcesResourceGroups}${environmentName}-evidence'
var deploymentStorageName = '${abbrs.storageStorageAccounts}dep${resourceToken}'
var deploymentContainerName = 'app-package'
var cosmosAccountName = '${abbrs.documentDBDatabaseAccounts}${resourceToken}'
var cosmosDatabaseName = '${cosmosDatabasePrefix}-${geo}'
var serviceBusName = '${abbrs.serviceBusNamespaces}${resourceToken}'
var keyVaultName = '${abbrs.keyVaultVaults}${resourceToken}'
var logAnalyticsName = '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
var appInsightsName = '${abbrs.insightsComponents}${resourceToken}'
var vnetName = '${abbrs.networkVirtualNetworks}${resourceToken}'

var tenantId = tenant().tenantId
// Multi-tenant: a v2.0 token's issuer names the caller's own tenant, which the API fills
// from the token's tid (shared/adapters/tokens.py); the keys are Entra's common ones.
var issuer = empty(authIssuer) ? '${environment().authentication.loginEndpoint}{tid}/v2.0' : authIssuer
var jwksUrl = empty(authJwksUrl) ? '${environment().authentication.loginEndpoint}common/discovery/v2.0/keys' : authJwksUrl
var publicBaseUrls = union(baseUrls, regionBaseUrls)
var noAudiences = []
var extraAudiences = empty(apiIdentifierUri) ? noAudiences : array(apiIdentifierUri)

// ---------------------------------------------------------------------------
// Resource group and identity
// ---------------------------------------------------------------------------

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: stampLocation
  tags: tags
}

// Evidence in a resource group of its own, created OUTSIDE this deployment by the azd
// hooks (infra/evidence/evidence.bicep through infra/scripts/evidence.sh), so `azd down`
// removes the compute stamp and never reaches evidence. Only referenced here: nothing
// in this deployment is in that group.
resource evidenceRg 'Microsoft.Resources/resourceGroups@2024-03-01' existing = {
  name: evidenceResourceGroupName
}

resource evidenceAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: evidenceStorageName
  scope: resourceGroup(evidenceResourceGroupName)
}

// The app's only identity. It holds data-plane roles (app/rbac.bicep) instead of keys,
// so no connection string carries a secret.
module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: identityName
    location: stampLocation
    tags: tags
  }
}

// The API's and the console's app registrations (Microsoft Graph). v2.0 access tokens
// carry the API's client id as aud: that is the audience the app accepts.
module entra 'identity/entra.bicep' = if (entraApps) {
  name: 'entra'
  scope: rg
  params: {
    environmentName: environmentName
    publicBaseUrl: publicBaseUrls[geo]
    identityPrincipalId: identity.outputs.principalId
    apiIdentifierUri: apiIdentifierUri
  }
}

var apiAppId = entraApps ? entra.outputs.apiClientId : apiClientId
var consoleAppId = entraApps ? entra.outputs.consoleClientId : consoleClientId

// ---------------------------------------------------------------------------
// Network (only when privateNetworking): VNet first, endpoints once targets exist
// ---------------------------------------------------------------------------

module network 'app/network.bicep' = if (privateNetworking) {
  name: 'network'
  scope: rg
  params: {
    name: vnetName
    location: stampLocation
    tags: tags
    addressPrefix: vnetAddressPrefix
  }
}

// ---------------------------------------------------------------------------
// Data, storage, messaging, secrets, monitoring
// ---------------------------------------------------------------------------

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: logAnalyticsName
    appInsightsName: appInsightsName
    location: stampLocation
    tags: tags
    retentionInDays: logRetentionDays
  }
}

module hostStorage 'app/host-storage.bicep' = {
  name: 'host-storage'
  scope: rg
  params: {
    deploymentAccountName: deploymentStorageName
    deploymentContainerName: deploymentContainerName
    location: stampLocation
    tags: tags
    privateNetworking: privateNetworking
  }
}

module data 'app/data.bicep' = {
  name: 'data'
  scope: rg
  params: {
    accountName: cosmosAccountName
    databaseName: cosmosDatabaseName
    location: stampLocation
    tags: tags
    serverless: cosmosServerless
    autoscaleMaxThroughput: cosmosAutoscaleMaxThroughput
    containerAutoscaleMaxThroughput: cosmosContainerAutoscaleMaxThroughput
    privateNetworking: privateNetworking
  }
}

module messaging 'app/messaging.bicep' = {
  name: 'messaging'
  scope: rg
  params: {
    name: serviceBusName
    location: stampLocation
    tags: tags
    privateNetworking: privateNetworking
  }
}

module keyvault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: keyVaultName
    location: stampLocation
    tags: tags
    privateNetworking: privateNetworking
    recover: keyVaultRecover
  }
}

// ---------------------------------------------------------------------------
// App settings: every field of shared/settings.py as VIGIL_<FIELD>, plus what the
// Functions host needs. tests/infra/test_consistency.py holds these in step with the
// code and with local.settings.sample.json.
// ---------------------------------------------------------------------------

// Key Vault reference prefix: the secret itself never appears in app settings or in
// the deployment history. Usage: '${kvRef}<secret-name>)'. No version: the app follows
// the latest, so rotation is a new secret version (docs/deploy.md).
var kvRef = '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName='

// A literal that differs from the code's default carries a comment saying why
// (tests/infra/test_consistency.py); the rest repeat the code's defaults so the
// portal shows every knob a stamp has.
var vigilSettings = {
  VIGIL_BACKEND: 'azure' // Cosmos, Blob, Service Bus and SendGrid adapters
  VIGIL_REGION: geo
  VIGIL_REGION_BASE_URLS: string(publicBaseUrls)
  // Local scratch only (the azure backend keeps nothing on disk).
  VIGIL_DATA_DIR: '/tmp/vigil'
  // Embedded backend only (group commit of SQLite units); unused with Cosmos.
  VIGIL_SQLITE_GROUP_COMMIT_MAX: '32'
  VIGIL_AUTH_ISSUER: issuer
  // No v1.0 or other issuer: add one only for a client that cannot ask for v2.0 tokens.
  VIGIL_AUTH_ISSUERS: '[]'
  VIGIL_AUTH_AUDIENCE: apiAppId
  VIGIL_AUTH_AUDIENCES: string(extraAudiences)
  VIGIL_AUTH_JWKS_URL: jwksUrl
  VIGIL_AUTH_ALGORITHMS: '["RS256"]'
  VIGIL_AUTH_LEEWAY_SECONDS: '30'
  VIGIL_AUTH_MAX_TOKEN_LIFETIME_SECONDS: '86400'
  // Network ranges: behind Front Door the client address is its X-Azure-SocketIP, believed
  // only with this profile's id (docs/security.md); without it, the Functions host gives no
  // client address and only organisations without ranges can be served.
  VIGIL_CLIENT_ADDRESS_FROM: frontDoor ? 'front-door' : 'socket'
  VIGIL_FRONT_DOOR_ID: frontDoor ? edgeProfile.outputs.frontDoorId : ''
  // Console sign-in: the console's app registration, multi-tenant (each retailer and
  // force signs in from its own tenant) in this cloud, proving itself with the stamp's
  // identity through a federated credential (docs/deploy.md).
  VIGIL_CONSOLE_CLIENT_ID: consoleAppId
  VIGIL_CONSOLE_AUTHORITY: '${environment().authentication.loginEndpoint}organizations'
  VIGIL_CONSOLE_CREDENTIAL: 'federated'
  // Empty: the federated credential needs no secret. A stamp using a certificate sets
  // '${kvRef}console-client-certificate)' and VIGIL_CONSOLE_CREDENTIAL 'certificate'.
  VIGIL_CONSOLE_CLIENT_CERTIFICATE: ''
  VIGIL_HTTP_WORKER_THREADS: '8'
  // The Functions host buffers a whole request before the app sees it, so the body
  // timeouts guard uvicorn (make run); the upload caps apply per worker process here too.
  VIGIL_HTTP_UPLOAD_THREADS: '8'
  VIGIL_HTTP_UPLOADS_PER_USER: '2'
  VIGIL_HTTP_UPLOADS_PER_ORGANISATION: '4'
  VIGIL_HTTP_BODY_IDLE_TIMEOUT_SECONDS: '30.0'
  VIGIL_HTTP_BODY_MIN_BYTES_PER_SECOND: '1024'
  VIGIL_HTTP_BODY_GRACE_SECONDS: '10.0'
  VIGIL_HTTP_WRITE_BURST: '300'
  VIGIL_HTTP_WRITES_PER_MINUTE: '300.0'
  VIGIL_HTTP_DEVICE_WRITE_BURST: '1200'
  VIGIL_HTTP_DEVICE_WRITES_PER_MINUTE: '6000.0'
  VIGIL_HTTP_IMPORT_PRINCIPALS: '[]'
  VIGIL_HTTP_IMPORT_WRITE_BURST: '1200'
  VIGIL_HTTP_IMPORT_WRITES_PER_MINUTE: '6000.0'
  VIGIL_MAX_JSON_BODY_BYTES: '262144'
  VIGIL_MAX_HEADER_COUNT: '100'
  VIGIL_MAX_HEADER_BYTES: '16384'
  VIGIL_MAX_PAGE_SIZE: '100'
  VIGIL_DEFAULT_PAGE_SIZE: '25'
  // Seals continuation tokens; every instance must share it (docs/deploy.md).
  VIGIL_PAGE_TOKEN_KEY: '${kvRef}page-token-key)'
  // Signs console session cookies; every instance must share it (docs/deploy.md).
  VIGIL_CONSOLE_SESSION_KEY: '${kvRef}console-session-key)'
  VIGIL_CONSOLE_IDLE_MINUTES: '30'
  VIGIL_CONSOLE_ABSOLUTE_HOURS: '12'
  VIGIL_IDEMPOTENCY_KEY_HOURS: '24'
  VIGIL_COSMOS_ENDPOINT: data.outputs.endpoint
  // Empty on purpose: Cosmos local auth is off, the adapter uses the identity.
  VIGIL_COSMOS_KEY: ''
  VIGIL_COSMOS_DATABASE_PREFIX: cosmosDatabasePrefix
  VIGIL_COSMOS_VERIFY_TLS: 'true'
  VIGIL_COSMOS_TTL_GRACE_SECONDS: '3600'
  VIGIL_AZURE_CLIENT_ID: identity.outputs.clientId
  // ANPR: batch bounds, read retention (per region; organisations may override
  // within the maximum), the search window without authorisation, webhook retries.
  VIGIL_ANPR_MAX_BATCH_READS: '1000'
  VIGIL_ANPR_MAX_BATCH_BYTES: '8388608'
  VIGIL_ANPR_MAX_PATCH_BYTES: '16384'
  VIGIL_ANPR_READ_RETENTION_DAYS: '30'
  VIGIL_ANPR_READ_RETENTION_MAX_DAYS: '365'
  VIGIL_ANPR_SEARCH_DAYS_WITHOUT_AUTHORISATION: '90'
  VIGIL_ANPR_VEHICLE_INTEREST_DAYS: '90'
  VIGIL_ANPR_EXPIRY_BATCH: '5000'
  VIGIL_LOG_LEVEL: 'INFO'
  // Application Insights takes the telemetry in Azure (APPLICATIONINSIGHTS_CONNECTION_STRING).
  VIGIL_TELEMETRY_CONSOLE: 'false'
  // Must equal maxDeliveryCount of the webhook-deliveries queue (app/messaging.bicep).
  VIGIL_WEBHOOK_QUEUE_MAX_DELIVERIES: '10'
  VIGIL_WEBHOOK_MAX_ATTEMPTS: '8'
  VIGIL_WEBHOOK_BACKOFF_BASE_SECONDS: '2.0'
  VIGIL_WEBHOOK_BACKOFF_CAP_SECONDS: '3600.0'
  VIGIL_WEBHOOK_TIMEOUT_SECONDS: '5.0'
  // No plain-http webhook hosts in Azure: every receiver needs https.
  VIGIL_WEBHOOK_HTTP_HOSTS: '[]'
  VIGIL_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false'
  // Direct to police: SendGrid mail. The API key and the event-webhook verification
  // key are Key Vault references (set the secrets after the first deploy: docs/deploy.md).
  VIGIL_MAIL_PROVIDER: 'sendgrid' // explicit in Azure rather than "auto"
  VIGIL_D2P_MAIL_FROM: empty(d2pMailFrom) ? geography.d2pMailFrom : d2pMailFrom
  VIGIL_ALERT_MAIL_FROM: empty(alertMailFrom) ? geography.alertMailFrom : alertMailFrom
  VIGIL_SENDGRID_API_KEY: '${kvRef}sendgrid-api-key)'
  VIGIL_SENDGRID_HOST: sendgridHost
  VIGIL_SENDGRID_TIMEOUT_SECONDS: '10.0'
  VIGIL_SENDGRID_WEBHOOK_PUBLIC_KEY: '${kvRef}sendgrid-webhook-public-key)'
  VIGIL_SENDGRID_WEBHOOK_MAX_AGE_SECONDS: '300'
  VIGIL_D2P_RETRY_BASE_SECONDS: '2.0'
  VIGIL_D2P_RETRY_CAP_SECONDS: '300.0'
  // Must equal maxDeliveryCount of the d2p-dispatch queue (app/messaging.bicep).
  VIGIL_D2P_MAX_DELIVERIES: '10'
  VIGIL_SERVICE_BUS_NAMESPACE: messaging.outputs.fullyQualifiedNamespace
  // Retention defaults of the region, in months (organisations choose within the bounds).
  VIGIL_RETENTION_INCIDENT_MONTHS: '72'
  VIGIL_RETENTION_INCIDENT_POLICE_CASE_MONTHS: '120'
  VIGIL_RETENTION_POI_IMAGE_MONTHS: '24'
  VIGIL_RETENTION_EVIDENCE_MONTHS: '72'
  VIGIL_RETENTION_ANPR_HIT_MONTHS: '12'
  VIGIL_RETENTION_D2P_EMAIL_BODY_MONTHS: '12'
  VIGIL_RETENTION_FOOTAGE_REQUEST_MONTHS: '24'
  VIGIL_RETENTION_LOOKOUT_MONTHS: '1'
  VIGIL_RETENTION_REFERRAL_MONTHS: '72'
  VIGIL_RETENTION_CRIME_GROUP_MONTHS: '6'
  VIGIL_RETENTION_AUDIT_MONTHS: '120'
  VIGIL_RETENTION_BOUNDS_MONTHS: '{"incident":[24,120],"incident_police_case":[72,240],"poi_image":[6,36],"evidence":[24,120],"anpr_hit":[1,12],"d2p_email_body":[1,24],"footage_request":[6,72],"lookout":[1,6],"referral":[24,120],"crime_group":[1,24],"audit":[72,240]}'
  VIGIL_RETENTION_SWEEP_BATCH: '100'
  VIGIL_RETENTION_SCHEDULE_DELAY_DAYS: '7'
  VIGIL_SUBJECT_REQUEST_RECEIPT_WINDOW_DAYS: '7'
  // Evidence: the locker account by identity; a connection string is for Azurite only.
  VIGIL_EVIDENCE_BLOB_ACCOUNT_URL: evidenceAccount.properties.primaryEndpoints.blob
  VIGIL_EVIDENCE_BLOB_CONNECTION_STRING: ''
  VIGIL_EVIDENCE_POLICY_LOCKED: evidencePolicyLocked ? 'true' : 'false'
  VIGIL_EVIDENCE_MAX_BYTES: '2147483648'
  // A resumable upload's lifetime; the staging lifecycle rule (1 day idle) is at least as long.
  VIGIL_EVIDENCE_UPLOAD_SESSION_HOURS: '24'
  VIGIL_EVIDENCE_VERIFY_SAMPLE_SIZE: '200'
  VIGIL_EVIDENCE_IMAGE_MAX_BYTES: '52428800'
  VIGIL_EVIDENCE_IMAGE_MAX_PIXELS: '36000000'
  VIGIL_EVIDENCE_IMAGE_WORKERS: '2'
  VIGIL_EVIDENCE_IMAGE_QUEUE_SECONDS: '10.0'
  VIGIL_EVIDENCE_IMAGE_BURST: '20'
  VIGIL_EVIDENCE_IMAGE_PER_MINUTE: '10.0'
  VIGIL_EVIDENCE_VIDEO_THREADS: '2'
  VIGIL_EVIDENCE_VIDEO_MAX_SECONDS: '10800'
  VIGIL_EVIDENCE_VIDEO_MAX_PIXELS: '8294400'
  VIGIL_EVIDENCE_VIDEO_BUDGET_SECONDS: '540'
  VIGIL_EVIDENCE_VIDEO_PLAYABLE_MAX_HEIGHT: '1080'
  VIGIL_EVIDENCE_VIDEO_CRF: '23'
  VIGIL_EVIDENCE_VIDEO_PRESET: 'superfast'
  VIGIL_EVIDENCE_VIDEO_CLIP_MAX_SECONDS: '600'
  VIGIL_EVIDENCE_VIDEO_MAX_DELIVERIES: '3'
  VIGIL_EVIDENCE_VIDEO_WORKERS: '1'
  // Audit and custody chain keys (JSON {"<id>": "<secret>"}) from Key Vault, and the id
  // that links new entries: rotate by adding a key to the secret, then deploying with
  // its id (docs/audit.md).
  VIGIL_AUDIT_CHAIN_KEYS: '${kvRef}audit-chain-keys)'
  VIGIL_AUDIT_CHAIN_KEY_ID: auditChainKeyId
  VIGIL_AUDIT_CHECKPOINT_EVERY_ENTRIES: '1000'
}

// Queue names, so triggers bind with queue_name="%QUEUE_...%" (shared/names.py).
var queueSettings = {
  QUEUE_D2P_DISPATCH: 'd2p-dispatch'
  QUEUE_ANPR_ALERTS: 'anpr-alerts'
  QUEUE_WEBHOOK_DELIVERIES: 'webhook-deliveries'
  QUEUE_EVIDENCE_VIDEO: 'evidence-video'
  QUEUE_FOOTAGE_MAIL: 'footage-mail'
  QUEUE_LOOKOUT_DELIVERIES: 'lookout-deliveries'
  QUEUE_COURT_PACKAGES: 'court-packages'
}

// Timer schedules: six-field NCRONTAB, seconds first, always UTC. Defaults equal the
// code's own (functions/jobs.py @timer); a stamp overrides any with `schedules`.
var defaultSchedules = {
  // Every 30 seconds: the safety net for outbox entries the relay right after commit
  // missed (86,400 runs a month, about $4.50: see "What the timers cost" in docs/deploy.md).
  SCHEDULE_OUTBOX_RELAY: '*/30 * * * * *'
  // Chases D2P reports no force has acknowledged.
  SCHEDULE_D2P_UNACKNOWLEDGED: '0 0 * * * *'
  // Reminds stores of footage requests due within a day; marks overdue ones.
  SCHEDULE_FOOTAGE_REMINDERS: '0 */15 * * * *'
  // Sweeps ANPR reads past expiry every 15 minutes (Cosmos TTL also removes them).
  SCHEDULE_ANPR_EXPIRY: '0 */15 * * * *'
  // Retention deletes at a quiet hour.
  SCHEDULE_RETENTION: '0 30 2 * * *'
  // Re-hashes a sample of evidence against its recorded SHA-256.
  SCHEDULE_EVIDENCE_VERIFY: '0 0 4 * * *'
  // Removes abandoned uploads from evidence-staging (the lifecycle rule is the backstop).
  SCHEDULE_STAGING_SWEEP: '0 40 * * * *'
  // Finishes or removes evidence records an interrupted upload left pending; deletes or alerts on objects without a record.
  SCHEDULE_EVIDENCE_SETTLE: '0 20 * * * *'
  // Deletes expired short-lived records (idempotency keys) in bounded batches.
  SCHEDULE_EXPIRY_SWEEP: '0 */5 * * * *'
  // Publishes each audit chain's write-once checkpoint (entries after the newest one
  // can be cut unnoticed until the next: docs/audit.md).
  SCHEDULE_AUDIT_CHECKPOINT: '0 5 * * * *'
  // Every minute: checkpoints the chains grown by VIGIL_AUDIT_CHECKPOINT_EVERY_ENTRIES.
  SCHEDULE_AUDIT_CHECKPOINT_DUE: '0 * * * * *'
  // Walks every audit chain whole and records whether it verifies.
  SCHEDULE_AUDIT_VERIFY: '0 15 3 * * *'
  // Deletes the built court package of every expired, revoked or locked share.
  SCHEDULE_PACKAGE_SHARE_SWEEP: '0 10 * * * *'
}

// The Functions host: identity-based connections (<name>__credential/__clientId).
// FUNCTIONS_WORKER_RUNTIME is not set: Flex Consumption takes it from functionAppConfig.
var hostSettings = {
  AZURE_CLIENT_ID: identity.outputs.clientId
  AzureWebJobsStorage__accountName: deploymentStorageName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  ServiceBusConnection__fullyQualifiedNamespace: messaging.outputs.fullyQualifiedNamespace
  ServiceBusConnection__credential: 'managedidentity'
  ServiceBusConnection__clientId: identity.outputs.clientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  // Local auth is off on App Insights: telemetry is sent with the identity.
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
}

var appSettings = union(hostSettings, vigilSettings, queueSettings, union(defaultSchedules, schedules))

// ---------------------------------------------------------------------------
// Function app (behind Front Door when frontDoor is on)
// ---------------------------------------------------------------------------

var frontDoorName = '${abbrs.cdnProfiles}${resourceToken}'

module edgeProfile 'app/frontdoor-profile.bicep' = if (frontDoor) {
  name: 'frontdoor-profile'
  scope: rg
  params: {
    name: frontDoorName
    tags: tags
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: planName
    location: stampLocation
    tags: tags
    identityId: identity.outputs.id
    deploymentContainerUrl: hostStorage.outputs.deploymentContainerUrl
    maximumInstanceCount: functionMaximumInstanceCount
    instanceMemoryMB: functionInstanceMemoryMB
    alwaysReadyInstances: functionAlwaysReadyInstances
    appSettings: appSettings
    privateNetworking: privateNetworking
    appSubnetId: privateNetworking ? network.outputs.appSubnetId : ''
    frontDoorId: frontDoor ? edgeProfile.outputs.frontDoorId : ''
  }
  // The app settings' Key Vault references resolve only once the identity holds Key
  // Vault Secrets User (and the host its storage roles): until then the app reads the
  // reference text, which it takes as not configured (shared/settings.py).
  dependsOn: [
    rbac
  ]
}

// ---------------------------------------------------------------------------
// Operations: diagnostic settings, alerts, budget, locks; optional Front Door
// ---------------------------------------------------------------------------

module operations 'app/operations.bicep' = {
  name: 'operations'
  scope: rg
  params: {
    location: stampLocation
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
    appInsightsName: monitoring.outputs.appInsightsName
    cosmosAccountName: data.outputs.accountName
    serviceBusName: messaging.outputs.name
    keyVaultName: keyvault.outputs.name
    alertEmail: alertEmail
    monthlyBudget: monthlyBudget
    budgetStartDate: empty(budgetStartDate) ? budgetFirstMonth : budgetStartDate
    resourceLocks: resourceLocks
    identityPrincipalId: identity.outputs.principalId
  }
}

module edge 'app/frontdoor.bicep' = if (frontDoor) {
  name: 'frontdoor'
  scope: rg
  params: {
    name: frontDoor ? edgeProfile.outputs.name : frontDoorName
    tags: tags
    originHostName: replace(api.outputs.uri, 'https://', '')
    rateLimitPerMinute: frontDoorRateLimitPerMinute
  }
}

// ---------------------------------------------------------------------------
// Role assignments (least privilege) and private endpoints
// ---------------------------------------------------------------------------

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    operatorsPrincipalId: operatorsPrincipalId
    deploymentStorageName: hostStorage.outputs.deploymentAccountName
    cosmosAccountName: data.outputs.accountName
    cosmosDatabaseName: data.outputs.databaseName
    serviceBusName: messaging.outputs.name
    keyVaultName: keyvault.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
  }
}

module endpoints 'app/private-endpoints.bicep' = if (privateNetworking) {
  name: 'private-endpoints'
  scope: rg
  params: {
    location: stampLocation
    tags: tags
    subnetId: privateNetworking ? network.outputs.endpointSubnetId : ''
    zoneIds: privateNetworking ? network.outputs.zoneIds : {}
    evidenceStorageId: evidenceAccount.id
    deploymentStorageId: hostStorage.outputs.deploymentAccountId
    cosmosAccountId: data.outputs.accountId
    serviceBusId: messaging.outputs.id
    keyVaultId: keyvault.outputs.id
    functionAppId: api.outputs.id
  }
}

// ---------------------------------------------------------------------------
// Outputs (azd stores them in .azure/<env>/.env)
// ---------------------------------------------------------------------------

output AZURE_LOCATION string = stampLocation
output AZURE_TENANT_ID string = tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_EVIDENCE_RESOURCE_GROUP string = evidenceRg.name
output VIGIL_GEO string = geo
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = api.outputs.uri
output AZURE_KEY_VAULT_NAME string = keyvault.outputs.name
// The console app registration's federated credential trusts this identity (docs/deploy.md).
output AZURE_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output VIGIL_API_CLIENT_ID string = apiAppId
output CONSOLE_CLIENT_ID string = consoleAppId
output AZURE_COSMOS_ENDPOINT string = data.outputs.endpoint
output AZURE_COSMOS_DATABASE string = data.outputs.databaseName
output AZURE_SERVICEBUS_NAMESPACE string = messaging.outputs.fullyQualifiedNamespace
output AZURE_EVIDENCE_BLOB_ENDPOINT string = evidenceAccount.properties.primaryEndpoints.blob
