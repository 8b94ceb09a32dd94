/**
 * The surge bench's load generator, in its own process (so its CPU is not the bot's). For `seconds` it starts, at
 * fixed rates, channel adds and KF messages through the sandbox's controls (the sandbox, playing WeCom, then sends
 * the signed callback to the bot and the control call returns once the bot answered), and sends tag changes, edits
 * and relation deletions as correctly signed callbacks itself. Requests are started on schedule whether or not earlier
 * ones have been answered, as WeCom does. Prints one JSON line: every request's start, latency and status.
 *
 * argv[2]: JSON of SurgeLoadPlan.
 */
import { sealCallback } from '../../src/wecom/crypto.js';

export interface SurgeLoadPlan {
  botUrls: string[];
  sandboxUrl: string;
  seconds: number;
  addsPerSec: number;
  otherPerSec: number;
  corpId: string;
  keys: { token: string; encodingAesKey: string };
  /** The channel's staff member and state, for adds. */
  way: { userid: string; state: string };
  openKfId: string;
  tagIds: string[];
  /** Seeded customers of `relations`, for edits and deletions. */
  relations: { userid: string; externalUserId: string }[];
}

export interface SurgeRequest {
  kind: 'add' | 'kf' | 'tag' | 'edit' | 'del';
  startMs: number;
  /** The whole request: for an add or a KF message, the sandbox's control call, which includes the sandbox's work. */
  ms: number;
  /** For an add or a KF message: the callback's own POST → answer, timed by the sandbox as WeCom would see it. */
  callbackMs?: number;
  status: number;
  welcomeCode?: string;
}

const plan = JSON.parse(process.argv[2]) as SurgeLoadPlan;
const requests: SurgeRequest[] = [];
const inFlight = new Set<Promise<unknown>>();

function callbackXml(inner: string): string {
  return (
    `<xml><ToUserName><![CDATA[${plan.corpId}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
    `<CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType><![CDATA[event]]></MsgType>${inner}</xml>`
  );
}

let seq = 0;
function otherEvent(n: number): { kind: SurgeRequest['kind']; xml: string } | { kind: 'kf' } {
  // The mix: 1/2 KF notifications on one account, 1/4 tag changes, 1/8 edits, 1/8 deletions.
  const slot = n % 8;
  if (slot < 4) return { kind: 'kf' };
  if (slot < 6) {
    const id = plan.tagIds[n % plan.tagIds.length];
    return {
      kind: 'tag',
      xml: callbackXml(`<Event><![CDATA[change_external_tag]]></Event><Id><![CDATA[${id}]]></Id><TagType><![CDATA[tag]]></TagType><ChangeType><![CDATA[update]]></ChangeType><Seq>${++seq}</Seq>`),
    };
  }
  const r = plan.relations[n % plan.relations.length];
  const change = slot === 6 ? 'edit_external_contact' : 'del_follow_user';
  return {
    kind: slot === 6 ? 'edit' : 'del',
    // Seq keeps each notification distinct (WeCom's retries repeat a notification; these are new ones).
    xml: callbackXml(
      `<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[${change}]]></ChangeType><UserID><![CDATA[${r.userid}]]></UserID><ExternalUserID><![CDATA[${r.externalUserId}]]></ExternalUserID><Seq>${++seq}</Seq>`,
    ),
  };
}

function track(p: Promise<unknown>): void {
  inFlight.add(p);
  void p.finally(() => inFlight.delete(p));
}

/** What the sandbox's control answers for an add or a KF message (null when it answered no JSON). */
type ControlAnswer = { welcomeCode?: string; callback?: { lastHttpStatus?: number; lastMs?: number } } | null;

async function control(path: string, body: unknown): Promise<{ status: number; json: ControlAnswer }> {
  const res = await fetch(`${plan.sandboxUrl}/_control/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json().catch(() => null)) as ControlAnswer };
}

function sendAdd(i: number): void {
  const startMs = Date.now();
  track(
    control('customers/add', { ...plan.way, name: `涌入${i}` }).then(
      ({ status, json }) => {
        // The control answers after the sandbox delivered the callback: its last HTTP status is the bot's answer.
        const botStatus = status === 200 ? Number(json?.callback?.lastHttpStatus ?? 0) : status;
        requests.push({ kind: 'add', startMs, ms: Date.now() - startMs, callbackMs: json?.callback?.lastMs, status: botStatus, welcomeCode: json?.welcomeCode });
      },
      () => requests.push({ kind: 'add', startMs, ms: Date.now() - startMs, status: 0 }),
    ),
  );
}

function sendOther(n: number): void {
  const e = otherEvent(n);
  const startMs = Date.now();
  if (!('xml' in e)) {
    track(
      control('kf/message', { openKfId: plan.openKfId, text: `咨询${n}` }).then(
        ({ status, json }) =>
          requests.push({ kind: 'kf', startMs, ms: Date.now() - startMs, callbackMs: json?.callback?.lastMs, status: status === 200 ? Number(json?.callback?.lastHttpStatus ?? 0) : status }),
        () => requests.push({ kind: 'kf', startMs, ms: Date.now() - startMs, status: 0 }),
      ),
    );
    return;
  }
  const sealed = sealCallback({ ...plan.keys, receiveId: plan.corpId }, e.xml);
  const bot = plan.botUrls[n % plan.botUrls.length];
  track(
    fetch(`${bot}/wecom/callback?${new URLSearchParams(sealed.query)}`, { method: 'POST', body: sealed.body, headers: { 'content-type': 'text/xml' } }).then(
      async (res) => {
        await res.text();
        requests.push({ kind: e.kind, startMs, ms: Date.now() - startMs, status: res.status });
      },
      () => requests.push({ kind: e.kind, startMs, ms: Date.now() - startMs, status: 0 }),
    ),
  );
}

const t0 = Date.now();
const end = t0 + plan.seconds * 1000;
let adds = 0;
let others = 0;
// A 5 ms tick: each tick starts whatever the fixed rates say is due by now.
while (Date.now() < end) {
  const elapsed = (Date.now() - t0) / 1000;
  while (adds < Math.floor(elapsed * plan.addsPerSec)) sendAdd(adds++);
  while (others < Math.floor(elapsed * plan.otherPerSec)) sendOther(others++);
  await new Promise((r) => setTimeout(r, 5));
}
const sentAt = Date.now();
while (inFlight.size > 0 && Date.now() - sentAt < 120_000) await Promise.race([...inFlight]);
process.stdout.write(`${JSON.stringify({ t0, sentAt, requests, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`);
