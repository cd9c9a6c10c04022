/**
 * Core's checks of the machine: free disk where the data directory lives, free memory, the
 * open-file limit and the CPU count against the concurrency the app is configured for.
 */
import { statfs, readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { dirname } from 'node:path'
import { availableParallelism, freemem, totalmem } from 'node:os'
import type { PreflightCheck } from './check.js'

/** Thresholds of the system checks. */
export interface SystemThresholds {
  /** Free space wanted in DATA_DIR, in MiB. Default PREFLIGHT_MIN_FREE_DISK_MB, else 1 024. */
  readonly minFreeDiskMb?: number
  /** Free memory wanted, in MiB. Default 256. */
  readonly minFreeMemoryMb?: number
  /** Soft open-file limit wanted in production. Default 4 096. */
  readonly minOpenFiles?: number
  /** Worker processes or threads the app runs (WEB_CONCURRENCY when unset); compared with the CPUs. */
  readonly concurrency?: number
}

const MiB = 1024 * 1024

/** The directory itself, or its nearest ancestor that exists (DATA_DIR may not be created yet). */
function existing(dir: string): string {
  let at = dir
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at)
  return at
}

/** The soft "Max open files" of this process, from /proc on Linux; undefined elsewhere. */
async function openFileLimit(): Promise<number | undefined> {
  const limits = await readFile('/proc/self/limits', 'utf8').catch(() => undefined)
  const line = limits?.split('\n').find((l) => l.startsWith('Max open files'))
  const soft = line?.split(/\s{2,}/)[1]
  return soft === undefined ? undefined : soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft)
}

export function systemChecks(thresholds: SystemThresholds = {}): PreflightCheck[] {
  const minMemory = thresholds.minFreeMemoryMb ?? 256
  const minFiles = thresholds.minOpenFiles ?? 4096
  return [
    {
      category: 'system',
      name: 'free disk in DATA_DIR',
      run: async ({ dataDir, env }) => {
        const minDisk = thresholds.minFreeDiskMb ?? (Number(env.PREFLIGHT_MIN_FREE_DISK_MB) || 1024)
        const at = existing(dataDir)
        const fs = await statfs(at)
        const free = (fs.bavail * fs.bsize) / MiB
        const found = `${Math.round(free)} MiB free at ${at}`
        return free >= minDisk
          ? { status: 'pass', found }
          : { status: 'fail', found: `${found}, below ${minDisk} MiB`, fix: `free space on the volume of DATA_DIR or grow it (wanted: ${minDisk} MiB, preflight.minFreeDiskMb)` }
      },
    },
    {
      category: 'system',
      name: 'memory',
      run: () => {
        const free = freemem() / MiB
        const found = `${Math.round(free)} of ${Math.round(totalmem() / MiB)} MiB free`
        return free >= minMemory ? { status: 'pass', found } : { status: 'warn', found: `${found}, below ${minMemory} MiB`, fix: 'give the host or container more memory, or run fewer processes on it' }
      },
    },
    {
      category: 'system',
      name: 'open-file limit',
      run: async ({ production }) => {
        const limit = await openFileLimit()
        if (limit === undefined) return { status: 'pass', found: 'not readable on this platform' }
        const found = `soft limit ${limit}`
        if (limit >= minFiles || !production) return { status: 'pass', found }
        return { status: 'warn', found: `${found}, below ${minFiles}`, fix: `raise it (systemd LimitNOFILE=${minFiles * 16}, ulimit -n, or the container's nofile ulimit): every connection and file holds one` }
      },
    },
    {
      category: 'system',
      name: 'CPU count',
      run: ({ env }) => {
        const cpus = availableParallelism()
        const configured = thresholds.concurrency ?? (env.WEB_CONCURRENCY ? Number(env.WEB_CONCURRENCY) : undefined)
        if (configured === undefined || !Number.isFinite(configured)) return { status: 'pass', found: `${cpus} CPUs` }
        if (configured > cpus) return { status: 'warn', found: `${configured} workers configured on ${cpus} CPUs`, fix: `set WEB_CONCURRENCY (or preflight.concurrency) to ${cpus} or less: more workers than CPUs only contend` }
        return { status: 'pass', found: `${configured} workers on ${cpus} CPUs` }
      },
    },
  ]
}
