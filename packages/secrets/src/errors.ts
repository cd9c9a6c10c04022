import { defineErrors } from '@plinth/core'

/**
 * The catalogue of `@plinth/secrets`. No message ever carries a secret's value: only where it
 * was looked for (a Vault path and key, an environment variable's name).
 *
 * @example
 * if (secretsErrors.is(error, 'PLINTH_ERR_SECRET_NOT_FOUND')) console.error(error.describe())
 */
export const secretsErrors = defineErrors('@plinth/secrets', {
  PLINTH_ERR_SECRET_REFERENCE: {
    title: 'Malformed secret reference',
    hint: 'Write a Vault reference as vault:<mount>/data/<path>#<key> (the KV v2 API path, e.g. vault:secret/data/app#openaiApiKey) and an environment one as env:<NAME>.',
  },
  PLINTH_ERR_SECRET_NOT_FOUND: {
    title: 'A secret does not exist where it was looked for',
    hint: 'Write the secret at the Vault path and key named (vault kv put -mount=<mount> <path> <key>=...), set the environment variable named, or correct the reference.',
  },
  PLINTH_ERR_SECRET_KV_VERSION: {
    title: 'The Vault mount is not a KV version 2 engine',
    hint: 'Point the reference at a KV v2 mount, or upgrade the mount with `vault kv enable-versioning <mount>`; KV v1 mounts have no versions or metadata to follow rotation with.',
  },
  PLINTH_ERR_SECRET_UNAVAILABLE: {
    title: 'No secret source could answer',
    hint: 'Every source in the chain failed (each cause is listed); bring Vault back or set the environment variable named as the fallback.',
    status: 503,
  },
  PLINTH_ERR_VAULT_DENIED: {
    title: 'Vault refused the token',
    hint: 'The token is unknown, expired or lacks a policy for the path: set a valid VAULT_TOKEN (or VAULT_ROLE_ID and VAULT_SECRET_ID for AppRole) and grant read on the path.',
  },
  PLINTH_ERR_VAULT_SEALED: {
    title: 'Vault is sealed',
    hint: 'Unseal Vault (vault operator unseal); reads are retried, and the environment answers meanwhile where a fallback is configured.',
    status: 503,
  },
  PLINTH_ERR_VAULT_UNREACHABLE: {
    title: 'Vault could not be reached',
    hint: 'Check VAULT_ADDR and that Vault is running and reachable from here; reads are retried, and the environment answers meanwhile where a fallback is configured.',
    status: 503,
  },
  PLINTH_ERR_VAULT_LOGIN: {
    title: 'The AppRole login failed',
    hint: 'Check VAULT_ROLE_ID and VAULT_SECRET_ID (a secret id can expire or be used up), and that the approle auth method is enabled at the mount named.',
  },
  PLINTH_ERR_VAULT_RENEWAL: {
    title: 'The Vault token cannot be renewed',
    hint: 'The token is not renewable, reached its max TTL or was revoked: issue a longer-lived or periodic token, or use AppRole, which logs in again by itself.',
  },
  PLINTH_ERR_VAULT_RESPONSE: {
    title: 'Vault answered something unexpected',
    hint: 'Check that VAULT_ADDR points at Vault itself (not a proxy or a UI), and read the status and errors quoted in the message.',
  },
  PLINTH_ERR_SECRETS_SETTINGS: {
    title: 'Invalid secrets settings',
    hint: 'Correct the setting named: VAULT_ADDR must be an http(s) URL, and Vault needs either VAULT_TOKEN or both VAULT_ROLE_ID and VAULT_SECRET_ID.',
  },
  PLINTH_ERR_SECRET_NOT_REDACTED: {
    title: 'A secret would land in a configuration key that is not redacted',
    hint: 'Add the key to defineConfig({ secrets: [...] }) (or name it like a secret: apiKey, password, token), so that it is redacted wherever the configuration is printed or logged.',
  },
})
