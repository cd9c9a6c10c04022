/** @plinth/flags: OpenFeature with a provider from configuration, a watched file and health fallback. */
export {}
