/**
 * @plinth/secrets: secrets from the environment (the default), HashiCorp Vault's KV version 2
 * over its HTTP API (token or AppRole, renewed before it expires), or a chain of them; cached
 * with a TTL and refreshed in the background so that rotations reach the components that watch
 * them; and secret references in configuration, resolved before it is validated and redacted
 * wherever it is printed.
 */
export { SecretCache, type SecretChange, type SecretSourceReport, type SecretsOptions } from './cache.js'
export { ChainSecrets, isPassingFailure } from './chain.js'
export { Secrets, secrets, type SecretsComponentOptions } from './component.js'
export { resolveSecretReferences, secretReferences, type PreparedSecrets, type ResolveReferencesOptions, type SecretBinding } from './config-references.js'
export type { SecretStore, SecretValue } from './contract.js'
export { EnvSecrets } from './env.js'
export { secretsErrors } from './errors.js'
export { describeLocation, isSecretReference, parseSecretReference, type SecretRequest, type VaultLocation } from './reference.js'
export { secretStoreFromEnv, type StoreFromEnvOptions } from './settings.js'
export { VaultSecrets, type VaultOptions } from './vault.js'
export type { RenewalOptions, TokenState, VaultAuth } from './vault-token.js'
// Registers the secrets' preflight checks (plinth validate) on import.
import './preflight.js'
