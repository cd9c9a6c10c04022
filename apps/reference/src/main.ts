import { run } from '@plinth/core'
import { app } from './app.js'

// Secret references in the environment are resolved by the configuration itself (a source of
// AppConfig), so `start`, `check` and `bootstrap` all see the resolved values.
await run(app)
