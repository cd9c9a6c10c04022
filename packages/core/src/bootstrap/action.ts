/** What the bootstrap phase reports it did: a leaf, so that the event catalogue can name it. */

/** create/fetch/copy/repair change the disk; skip means already in place; run is a custom handler without a plan. */
export type BootstrapActionKind = 'create' | 'fetch' | 'copy' | 'repair' | 'skip' | 'run'

/** One thing a handler did, or in a dry run would do. */
export interface BootstrapAction {
  readonly handler: string
  readonly action: BootstrapActionKind
  /** What kind of thing: directory, file, database, artifact, or the handler's own word. */
  readonly subject: string
  /** The path (relative to the working directory when inside it) or name it is about. */
  readonly target: string
  /** Why, or from where: "exists", "checksum mismatch", "from https://...". */
  readonly detail?: string | undefined
  /** The module that declared the requirement; undefined for the app's own. */
  readonly module?: string | undefined
}
