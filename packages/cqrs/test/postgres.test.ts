import { eventStoreConformance } from './conformance.js'
import { postgres, postgresHarness } from './harness.js'

eventStoreConformance(postgres.title('PostgreSQL'), postgresHarness, postgres.available)
