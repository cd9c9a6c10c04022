/** @plinth/jobs: a durable queue on the app's database, BullMQ on Redis, resumable progress. */
export {}
