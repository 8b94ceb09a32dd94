/**
 * Load generator for the customer-pages bench, run as its own process: phones opening their survey link and answering
 * it, and opening their points page. Each of `connections` loops takes the next customer: GET /s/<token> (the page),
 * POST the form with the page's one-time `submission` id and a score, GET /p/<token>. Every request carries an
 * X-Forwarded-For address from a pool of carrier addresses (the bot trusts its proxy), as phones behind one reverse
 * proxy arrive. argv: <baseUrl> <linksFile> <seconds> <connections>; prints one JSON line with each step's latencies.
 */
import { readFileSync } from 'node:fs';

const [base, file, seconds, connections] = process.argv.slice(2);
const links = JSON.parse(readFileSync(file, 'utf8')) as { survey: string; points: string }[];
const times: Record<'page' | 'answer' | 'points', number[]> = { page: [], answer: [], points: [] };
const failures: Record<string, number> = {};
let next = 0;
const until = performance.now() + Number(seconds) * 1000;
/** One of 2,000 carrier addresses: many phones share one, as behind a carrier's NAT. */
const address = (i: number) => `100.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`;

async function timed(step: keyof typeof times, path: string, init: { method?: 'GET' | 'POST'; body?: string; ip: string }): Promise<string | null> {
  const t0 = performance.now();
  // Node's fetch keeps connections alive, as a phone's browser does for the page and its answer.
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers: { 'x-forwarded-for': init.ip, 'user-agent': 'Mozilla/5.0 MicroMessenger/8.0.50', ...(init.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    body: init.body,
  });
  const text = await res.text();
  // Only answered requests are timed: a refusal (429 from the rate limits) is counted, and is quick.
  if (res.status === 200) times[step].push(performance.now() - t0);
  if (res.status !== 200) {
    const key = `${step} ${res.status}`;
    failures[key] = (failures[key] ?? 0) + 1;
    return null;
  }
  return text;
}

async function loop(): Promise<void> {
  while (performance.now() < until) {
    const i = next++;
    const link = links[i % links.length];
    const ip = address(i % 2000);
    const html = await timed('page', link.survey, { ip });
    const submission = html ? /name="submission" value="([^"]+)"/.exec(html)?.[1] : undefined;
    if (submission) await timed('answer', link.survey, { method: 'POST', ip, body: new URLSearchParams({ submission, q0: String(i % 11) }).toString() });
    await timed('points', link.points, { ip });
  }
}

const t0 = performance.now();
await Promise.all(Array.from({ length: Number(connections) }, loop));
const elapsed = (performance.now() - t0) / 1000;
const pct = (xs: number[], p: number) => (xs.length === 0 ? null : Math.round([...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(xs.length * p) - 1)] * 10) / 10);
const out: Record<string, unknown> = { seconds: Math.round(elapsed * 10) / 10, visits: next, failures };
for (const [step, xs] of Object.entries(times)) out[step] = { n: xs.length, perSec: Math.round(xs.length / elapsed), p50Ms: pct(xs, 0.5), p95Ms: pct(xs, 0.95), p99Ms: pct(xs, 0.99), maxMs: pct(xs, 1) };
process.stdout.write(`${JSON.stringify(out)}\n`);
