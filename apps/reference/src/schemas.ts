/**
 * The service's gRPC schemas, published in the data directory as bootstrap artifacts: clients
 * and operators point grpcurl or a code generator at `<DATA_DIR>/schemas` on the host, and
 * `plinth validate` verifies the copies (present, sha256 as declared) before a rollout.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { ArtifactRequirement } from '@plinth/core'

const published = ['plinth/telemetry/v1/telemetry.proto', 'plinth/telemetry/v1/devices.proto']

/**
 * One artifact per .proto, copied from the sources shipped with the build (outside src/, so the
 * same path from src/ and dist/). The checksum is the shipped file's: a copy changed or damaged
 * in the data directory no longer matches it.
 *
 * @example
 * createApp({ name: 'reference', bootstrap: { requirements: { artifacts: schemaArtifacts() } } })
 */
export function schemaArtifacts(): ArtifactRequirement[] {
  return published.map((name) => {
    const source = fileURLToPath(new URL(`../proto/${name}`, import.meta.url))
    const content = readFileSync(source)
    return { path: `schemas/${name}`, source, sha256: createHash('sha256').update(content).digest('hex'), size: content.byteLength }
  })
}
