import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The app's own Prometheus metrics, on one registry per process (tests build their own). */
export function createMetrics(registry = new Registry(), opts: { defaults?: boolean } = {}) {
  if (opts.defaults) collectDefaultMetrics({ register: registry });
  return {
    registry,
    callbackReceived: new Counter({
      name: 'wecom_callback_received_total',
      help: 'Callbacks stored, by kind and whether they were new or a redelivery',
      labelNames: ['kind', 'result'] as const,
      registers: [registry],
    }),
    callbackRejected: new Counter({
      name: 'wecom_callback_rejected_total',
      help: 'Callbacks refused before processing, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    callbackNextKey: new Counter({
      name: 'wecom_callback_next_key_total',
      help: 'Callbacks verified with the next Token/EncodingAESKey (WECOM_NEXT_*): WeCom has switched to the new pair',
      registers: [registry],
    }),
    callbackAckSeconds: new Histogram({
      name: 'wecom_callback_ack_seconds',
      help: 'Time from request start to the durable acknowledgement',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    inboxBatchSize: new Histogram({
      name: 'inbox_write_batch_size',
      help: 'Callbacks committed together by one inbox group commit',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 200],
      registers: [registry],
    }),
    inboxProcessed: new Counter({
      name: 'inbox_events_processed_total',
      help: 'Inbox events handled, by kind and outcome',
      labelNames: ['kind', 'outcome'] as const,
      registers: [registry],
    }),
    inboxStoredToHandledSeconds: new Histogram({
      name: 'inbox_stored_to_handled_seconds',
      help: 'Time from storing an event to finishing its handlers',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 60],
      registers: [registry],
    }),
    inboxBacklog: new Gauge({
      name: 'inbox_events',
      help: 'Inbox rows by status',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    // docs/inbox.md §Backlog and readiness: read from the shared database, so every process reports the same queue.
    inboxLaneBacklog: new Gauge({
      name: 'wecom_inbox_backlog',
      help: 'Unfinished inbox events by lane: urgent and ordinary are ready (claimable now), waiting are queued behind an earlier event of their subject (counts stop at 100000)',
      labelNames: ['lane'] as const,
      registers: [registry],
    }),
    inboxOldestReadyAge: new Gauge({
      name: 'wecom_inbox_oldest_ready_age_seconds',
      help: 'Age of the oldest ready event in each lane (0 when the lane is empty)',
      labelNames: ['lane'] as const,
      registers: [registry],
    }),
    inboxHandledRate: new Gauge({
      name: 'wecom_inbox_handled_per_second',
      help: 'Inbox events finished per second by all workers on this database, over the last samples (NaN until measured)',
      registers: [registry],
    }),
    inboxDrainEstimate: new Gauge({
      name: 'wecom_inbox_drain_seconds_estimate',
      help: 'Backlog divided by the recent handling rate; 0 when empty, NaN when unknown or not draining',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
