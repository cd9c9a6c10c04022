/** @plinth/secrets: environment, HashiCorp Vault KV v2 and a chain of them, cached and renewed. */
export {}
