/**
 * Load generator for the ingress bench, run as its own process: reads pre-sealed events from a JSON file and
 * drives them with autocannon. (Driven from inside the bench process, autocannon's run was seen to stop without
 * settling; a separate process also keeps the generator's CPU out of the bench's own accounting.)
 * argv: <url> <eventsFile> <seconds> <connections>; prints one JSON line with the result.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const [url, file, seconds, connections] = process.argv.slice(2);
const events = JSON.parse(readFileSync(file, 'utf8')) as { path: string; body: string }[];
let i = 0;
autocannon(
  {
    url,
    connections: Number(connections),
    duration: Number(seconds),
    timeout: 10,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          const e = events[i++ % events.length];
          return { ...req, path: e.path, body: e.body, headers: { 'content-type': 'text/xml' } };
        },
      },
    ],
  },
  (err, r) => {
    if (err) {
      process.stderr.write(`${err.stack ?? err}\n`);
      process.exit(1);
    }
    process.stdout.write(
      `${JSON.stringify({ eventsPerSec: Math.round(r.requests.average), p50Ms: r.latency.p50, p99Ms: r.latency.p99, non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, sent: r.requests.total, uniqueEventsUsed: Math.min(i, events.length) })}\n`,
    );
  },
);
