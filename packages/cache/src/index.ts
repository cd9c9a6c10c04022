/** @plinth/cache: a memory tier and Redis behind it, with TTL, tags, single flight and grace. */
export {}
