import { eventStoreConformance } from './conformance.js'
import { sqliteHarness } from './harness.js'

eventStoreConformance('SQLite', sqliteHarness)
