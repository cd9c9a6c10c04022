/** @plinth/state: request, session and application scopes, stores with expiry and observers. */
export {}
