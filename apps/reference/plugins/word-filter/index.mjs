// An untrusted (basic-level) plugin: it runs in a sandboxed process of its own and reaches the
// service only through the host API it is given: state it may read, files under its own data
// folder, and a topic it may publish to.

const defaults = ['darn', 'heck', 'stupid']
let words = new Set(defaults)

async function loadWords(host) {
  // An operator's list in the plugin's data folder (data/plugins/word-filter/words.txt), if any,
  // and words added at run time; both asked of the host at once (each is a round trip).
  const [fromFile, fromState] = await Promise.all([
    host.files.read('words.txt').then(
      (text) => text.split('\n').map((w) => w.trim().toLowerCase()).filter(Boolean),
      () => [],
    ),
    host.state.get('word-filter.extra'),
  ])
  words = new Set([...defaults, ...fromFile, ...(Array.isArray(fromState) ? fromState : [])])
}

export async function activate(host) {
  await loadWords(host)
  host.log.info(`word filter active with ${words.size} words`)
}

export const handlers = {
  /** { text } -> { text, masked }: each listed word replaced by asterisks, case kept elsewhere. */
  async filter(input, host) {
    const text = String(input?.text ?? '')
    const masked = []
    const clean = text.replace(/[\p{L}']+/gu, (word) => {
      if (!words.has(word.toLowerCase())) return word
      masked.push(word.toLowerCase())
      return '*'.repeat(word.length)
    })
    if (masked.length > 0) await host.topics.publish('conversation.filtered', { masked })
    return { text: clean, masked }
  },
  async reload(_, host) {
    await loadWords(host)
    return { words: words.size }
  },
}
