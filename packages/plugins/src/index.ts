/** @plinth/plugins: discovery, manifests, dependencies, permission levels and a child-process sandbox. */
export {}
