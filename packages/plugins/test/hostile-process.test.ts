import { hostileSuite } from './hostile.case.js'

hostileSuite('process')
