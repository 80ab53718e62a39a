// The evidence group's lock: CanNotDelete on the group, inherited by everything in it.
// Deleting the account, the group or the custody logs needs this lock removed first,
// which is the deliberate step of retiring evidence (docs/deploy.md, Tear down).
@description('The evidence account\'s name: orders the lock after the account exists.')
param dependsOnAccount string

resource evidenceLock 'Microsoft.Authorization/locks@2020-05-01' = {
  name: 'vigil-evidence'
  properties: {
    level: 'CanNotDelete'
    notes: 'Evidence under custody (${dependsOnAccount}): retire through docs/deploy.md, Tear down.'
  }
}

output lockId string = evidenceLock.id
