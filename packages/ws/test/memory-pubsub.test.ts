import { MemoryPubSub } from '../src/index.js'
import { pubsubConformance } from './pubsub.case.js'

pubsubConformance('MemoryPubSub', () => new MemoryPubSub())
