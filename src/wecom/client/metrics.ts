import { Counter, Histogram, Registry } from 'prom-client';

/** Outcome label of one HTTP attempt against WeCom. */
export type CallOutcome = 'ok' | 'errcode' | 'timeout' | 'network' | 'http_status' | 'bad_response';

/** The client's Prometheus metrics, registered once per registry. */
export class WecomClientMetrics {
  /** Attempts by API and outcome (every retry is an attempt). */
  readonly calls: Counter<'api' | 'outcome'>;
  /** Non-zero errcodes by API and errcode. */
  readonly errors: Counter<'api' | 'errcode'>;
  /** Time on the wire per attempt, excluding time queued in the limiter. */
  readonly latency: Histogram<'api'>;

  constructor(registry: Registry) {
    this.calls = reuse(registry, 'wecom_api_calls_total', () =>
      new Counter({ name: 'wecom_api_calls_total', help: 'WeCom API attempts by outcome', labelNames: ['api', 'outcome'], registers: [registry] }),
    );
    this.errors = reuse(registry, 'wecom_api_errors_total', () =>
      new Counter({ name: 'wecom_api_errors_total', help: 'WeCom API errcodes returned', labelNames: ['api', 'errcode'], registers: [registry] }),
    );
    this.latency = reuse(registry, 'wecom_api_latency_seconds', () =>
      new Histogram({
        name: 'wecom_api_latency_seconds',
        help: 'WeCom API round-trip time per attempt',
        labelNames: ['api'],
        buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      }),
    );
  }
}

/** Several clients may share one registry (app + KF, or tests); a name can be registered only once. */
function reuse<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}
