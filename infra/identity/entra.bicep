// The stamp's two Entra ID app registrations, declared with the Microsoft Graph Bicep
// extension: the API's (what bearer tokens are issued for) and the console's (how people
// sign in to the web pages). Kept in its own folder because checkov's Bicep parser cannot
// read the `extension` keyword: tests/infra/test_entra.py checks this file as text, and
// tools/infra_check.py keeps it out of pycep and checkov.
//
// Whoever runs `azd up` needs Application.ReadWrite.All (or to own the two apps) in the
// stamp's tenant. Without it, set VIGIL_ENTRA_APPS=false and name existing registrations
// (VIGIL_API_CLIENT_ID, CONSOLE_CLIENT_ID): docs/deploy.md.
extension microsoftGraphV1

@description('azd environment name: makes the registrations\' unique names, so a redeploy updates them.')
param environmentName string

@description('Public base URL of this stamp (https://...): the console\'s sign-in answer comes back to it.')
param publicBaseUrl string

@description('Principal (object) id of the stamp\'s user-assigned managed identity: the console\'s federated credential trusts it.')
param identityPrincipalId string

@description('Application ID URI of the API (api://...). Empty: none; v2.0 tokens carry the client id as aud either way.')
param apiIdentifierUri string = ''

var apiRoles = loadJsonContent('../entra/api-app-roles.json')
var consoleRoles = loadJsonContent('../entra/console-app-roles.json')
var tenantIssuer = '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'

// The API. Multi-tenant: each retailer's and force's systems get tokens from their own
// tenant. v2.0 access tokens: aud is this app's client id, iss names the caller's tenant.
resource apiApp 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: 'vigil-api-${environmentName}'
  displayName: 'Vigil API (${environmentName})'
  signInAudience: 'AzureADMultipleOrgs'
  identifierUris: empty(apiIdentifierUri) ? [] : [
    apiIdentifierUri
  ]
  api: {
    requestedAccessTokenVersion: 2
  }
  appRoles: apiRoles
}

resource apiServicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: apiApp.appId
  // Only people and camera systems assigned a role get a token for the API at all.
  appRoleAssignmentRequired: true
}

// The console: a confidential web client signing people in with OpenID Connect.
resource consoleApp 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: 'vigil-console-${environmentName}'
  displayName: 'Vigil console (${environmentName})'
  signInAudience: 'AzureADMultipleOrgs'
  api: {
    requestedAccessTokenVersion: 2
  }
  web: {
    // https only, exactly the callback path; the answer is posted (form_post).
    redirectUris: [
      '${publicBaseUrl}/signin/callback'
    ]
    implicitGrantSettings: {
      enableAccessTokenIssuance: false
      enableIdTokenIssuance: false
    }
  }
  appRoles: consoleRoles
}

resource consoleServicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: consoleApp.appId
  appRoleAssignmentRequired: true
}

// The console proves itself with a token of the stamp's managed identity: no secret or
// certificate exists to leak or rotate.
resource consoleStampCredential 'Microsoft.Graph/applications/federatedIdentityCredentials@v1.0' = {
  name: '${consoleApp.uniqueName}/stamp-identity'
  issuer: tenantIssuer
  subject: identityPrincipalId
  audiences: [
    'api://AzureADTokenExchange'
  ]
  description: 'The stamp\'s user-assigned managed identity'
}

output apiClientId string = apiApp.appId
output consoleClientId string = consoleApp.appId
