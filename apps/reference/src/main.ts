import { run } from '@plinth/core'
import { app } from './app.js'
import { prepareSecrets } from './modules/features/secrets.js'

// Secret references (and the Vault bindings, with VAULT_ADDR) become values before the configuration is loaded.
await prepareSecrets(process.env)
await run(app)
