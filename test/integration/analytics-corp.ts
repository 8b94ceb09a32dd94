import type { Container } from '../../src/container.js';
import type { FixedClock } from '../../src/shared/clock.js';
import { addDays, localDate, zonedTimeToUtc } from '../../src/shared/dates.js';
import type { RelationChangeKind } from '../../src/domain/analytics/analytics.types.js';
import { createPrng } from '../../src/shared/prng.js';

/**
 * A generated corp with known answers for the analytics tests: a seeded walk over `days` days in which customers add
 * members through channels (or none), delete them or are deleted, come back, get tagged, are transferred and order.
 * Every change goes through the sandbox's callbacks and the real inbox, with the clock set to its time; the walk keeps
 * its own record of what happened (`truth`), from which the tests compute each figure the slow way.
 */

/** The seeded PRNG the sandbox and benches use, so a failing run can be repeated exactly. */
export const rng = createPrng;

export const TZ = 'Asia/Shanghai';
export const STAFF = ['zhangsan', 'lisi', 'wangwu', 'zhaoliu', 'sunqi'];
/** Channel names and the tag each gives (group/name). */
const CHANNELS = [
  { name: '地推二维码', tag: '来源/地推' },
  { name: '公众号菜单', tag: '来源/公众号' },
  { name: '门店海报', tag: '来源/门店' },
];
const VIP = '等级/VIP';

export interface TruthChange {
  kind: RelationChangeKind;
  userid: string;
  ext: string;
  channelId: string | null;
  at: number;
  /** Tag names the customer carried then, over all their relations. */
  tags: string[];
}

export interface TruthOrder {
  ext: string;
  at: number;
  cents: number;
}

export interface Truth {
  firstDay: string;
  lastDay: string;
  changes: TruthChange[];
  orders: TruthOrder[];
  /** Per night: customers in an active relation at the end of the day, for the corp and per member. */
  snapshots: Map<string, { corp: number; perStaff: Map<string, number> }>;
  channels: { id: string; name: string; tag: string }[];
}

interface Rel {
  userid: string;
  ext: string;
  status: 'active' | 'lost_by_customer' | 'lost_by_staff' | 'transferred';
  channelId: string | null;
}

/** Drive the walk. The clock is set to each event's time; the inbox is drained after each. */
export interface CorpHooks {
  /** Called at 07:00 of each day, before its events (the clock is set there): a test adds what else happens that day. */
  onDay?: (day: string, at: number) => Promise<void>;
  /** Called after each night's snapshot, with the clock at 00:20 the next day. */
  onNight?: (day: string, night: Date) => Promise<void>;
}

export async function generateCorp(c: Container, clock: FixedClock, opts: { seed: number; firstDay: string; days: number; newPerDay: [number, number] } & CorpHooks): Promise<Truth> {
  const rand = rng(opts.seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const sandbox = c.sandbox!;
  const channels: Truth['channels'] = [];
  clock.set(zonedTimeToUtc(addDays(opts.firstDay, -1), '09:00', TZ));
  for (const ch of CHANNELS) {
    const made = await c.archive.channels.create({ name: ch.name, staff: STAFF, tags: [ch.tag] });
    channels.push({ id: made.id, name: ch.name, tag: ch.tag });
  }
  const stateOf = new Map<string, string>();
  for (const ch of channels) stateOf.set(ch.id, (await c.archive.channels.get(ch.id)).state);

  const rels = new Map<string, Rel>();
  const key = (userid: string, ext: string) => `${userid}|${ext}`;
  const customers: string[] = [];
  const truth: Truth = { firstDay: opts.firstDay, lastDay: addDays(opts.firstDay, opts.days - 1), changes: [], orders: [], snapshots: new Map(), channels };
  // A channel's tags and an operator's are kept on the customer (rows of their own source, userid ''), whatever happens
  // to the relation that brought them: a customer carries every tag given so far.
  const customerTags = new Map<string, Set<string>>();
  const tagsOf = (ext: string) => [...(customerTags.get(ext) ?? [])].sort();
  const tag = (ext: string, name: string) => customerTags.set(ext, (customerTags.get(ext) ?? new Set()).add(name));
  const record = (kind: RelationChangeKind, r: Rel, at: number, tags: string[]) => truth.changes.push({ kind, userid: r.userid, ext: r.ext, channelId: r.channelId, at, tags });
  const drain = () => c.inboxProcessor.drain();

  const add = async (userid: string, ext: string | null, channelId: string | null, at: number, transfer = false) => {
    clock.set(new Date(at));
    const out = await sandbox.addCustomer({ userid, externalUserId: ext ?? undefined, state: channelId ? stateOf.get(channelId) : undefined });
    await drain();
    const id = out.externalUserId;
    if (!ext) customers.push(id);
    const channel = channels.find((ch) => ch.id === channelId);
    if (channel) tag(id, channel.tag);
    const r: Rel = { userid, ext: id, status: 'active', channelId };
    rels.set(key(userid, id), r);
    record(transfer ? 'transferred_in' : 'added', r, at, transfer ? [] : tagsOf(id));
    return id;
  };

  for (let d = 0; d < opts.days; d++) {
    const day = addDays(opts.firstDay, d);
    const dayStart = zonedTimeToUtc(day, '08:00', TZ).getTime();
    if (opts.onDay) {
      clock.set(new Date(dayStart - 3600_000));
      await opts.onDay(day, dayStart - 3600_000);
    }
    // Event times within the day, kept in order.
    const times = Array.from({ length: 40 }, () => dayStart + Math.floor(rand() * 14 * 3600_000)).sort((a, b) => a - b);
    let slot = 0;
    const next = () => times[Math.min(slot++, times.length - 1)] + slot * 1000;
    const newCount = opts.newPerDay[0] + Math.floor(rand() * (opts.newPerDay[1] - opts.newPerDay[0] + 1));
    for (let i = 0; i < newCount; i++) {
      const channelId = rand() < 0.25 ? null : pick(channels).id;
      await add(pick(STAFF), null, channelId, next());
    }
    // A customer who already follows one member adds another.
    if (customers.length > 5 && rand() < 0.4) {
      const ext = pick(customers);
      const free = STAFF.filter((s) => !rels.has(key(s, ext)));
      if (free.length > 0) await add(pick(free), ext, rand() < 0.5 ? null : pick(channels).id, next());
    }
    // Losses: each active relation has a small chance a day, either side.
    for (const r of [...rels.values()]) {
      if (r.status !== 'active' || rand() >= 0.02) continue;
      const at = next();
      clock.set(new Date(at));
      if (rand() < 0.6) {
        await sandbox.customerDeletesStaff({ userid: r.userid, externalUserId: r.ext });
        r.status = 'lost_by_customer';
        record('lost_by_customer', r, at, tagsOf(r.ext));
      } else {
        await sandbox.staffDeletesCustomer({ userid: r.userid, externalUserId: r.ext });
        r.status = 'lost_by_staff';
        record('lost_by_staff', r, at, tagsOf(r.ext));
      }
      await drain();
    }
    // Some come back, through whichever channel.
    for (const r of [...rels.values()]) {
      if ((r.status !== 'lost_by_customer' && r.status !== 'lost_by_staff') || rand() >= 0.08) continue;
      await add(r.userid, r.ext, rand() < 0.5 ? r.channelId : pick(channels).id, next());
    }
    // An operator marks a customer VIP.
    if (rand() < 0.5) {
      const active = [...rels.values()].filter((r) => r.status === 'active');
      if (active.length > 0) {
        const ext = pick(active).ext;
        clock.set(new Date(next()));
        await c.archive.customers.changeTags(ext, { add: [VIP], remove: [] }, { role: 'admin', userid: null });
        tag(ext, VIP);
      }
    }
    // An on-job transfer a fortnight in: the taker's add and the handover's DELETE_BY_TRANSFER, with the transfer on
    // record as the transfers feature keeps it.
    if (d % 14 === 13) {
      const giver = [...rels.values()].find((r) => r.status === 'active' && r.userid === 'zhangsan' && !rels.has(key('lisi', r.ext)));
      if (giver) {
        const at = next();
        await c.db.query(
          `INSERT INTO transfers (id, request_id, kind, handover_userid, takeover_userid, external_user_id, status, requested_by, requested_at, takeover_at, updated_at)
           VALUES (?, ?, 'onjob', 'zhangsan', 'lisi', ?, 'waiting', 'test', ?, ?, ?)`,
          [`tr-${d}`, `rq-${d}`, giver.ext, at - 86_400_000, at, at],
        );
        await add('lisi', giver.ext, null, at, true);
        clock.set(new Date(at + 1000));
        await sandbox.staffDeletesCustomer({ userid: 'zhangsan', externalUserId: giver.ext, source: 'DELETE_BY_TRANSFER' });
        await drain();
        // Whichever of the callback and the settlement comes first records the move: on the takeover day.
        giver.status = 'transferred';
        record('transferred_out', giver, at, []);
      }
    }
    // Orders: a share of customers buy, some within 30 days of an add, some later.
    for (const ext of customers) {
      if (rand() < 0.03) truth.orders.push({ ext, at: next() + Math.floor(rand() * 5 * 86_400_000), cents: 100 * (10 + Math.floor(rand() * 990)) + Math.floor(rand() * 100) });
    }
    // The nightly snapshot, at 00:20 the next day, of the state the day ended with.
    const perStaff = new Map<string, number>();
    const active = new Set<string>();
    for (const r of rels.values()) {
      if (r.status !== 'active') continue;
      perStaff.set(r.userid, (perStaff.get(r.userid) ?? 0) + 1);
      active.add(r.ext);
    }
    truth.snapshots.set(day, { corp: active.size, perStaff });
    const night = zonedTimeToUtc(addDays(day, 1), '00:20', TZ);
    clock.set(night);
    await c.scheduling.analytics.takeSnapshot(day, night);
    await opts.onNight?.(day, night);
  }
  // Orders arrive from the shop's export afterwards, as an import would bring them.
  const rows = truth.orders.map((o, i) => ({ orderNo: `AN-${i}`, externalUserId: o.ext, amount: (o.cents / 100).toFixed(2), orderedAt: new Date(o.at).toISOString() }));
  for (let i = 0; i < rows.length; i += 500) await c.archive.orders.importJson(rows.slice(i, i + 500));
  return truth;
}

/** The local day of an instant. */
export function dayOf(at: number): string {
  return localDate(new Date(at), TZ);
}
