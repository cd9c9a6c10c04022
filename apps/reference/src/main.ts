import { run } from '@plinth/core'
import { app } from './app.js'

await run(app)
