#!/usr/bin/env node
// The `plinth` command: loads the application module and runs a command against it.
import { runCli } from '../dist/cli/bin.js'

process.exitCode = await runCli(process.argv.slice(2))
