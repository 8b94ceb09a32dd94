import type { CustomerArchive, CustomerListItem, Viewer } from '../../domain/customers/customer.service.js';
import type { CustomerTag } from '../../domain/tags/tag.types.js';
import type { TimelineEntry } from '../../domain/customers/timeline.types.js';
import { presentNote } from './note.presenter.js';
import { presentOrderSummary } from './order.presenter.js';

/** Tags as the contract shows them: `{ id, name, group }`, one per tag whatever the sources, sources listed. */
export function presentTags(rows: CustomerTag[]) {
  const byId = new Map<string, { id: string; name: string; group: string; sources: string[] }>();
  for (const r of rows) {
    const t = byId.get(r.tagId) ?? { id: r.tagId, name: r.name, group: r.groupName, sources: [] };
    if (!t.sources.includes(r.source)) t.sources.push(r.source);
    byId.set(r.tagId, t);
  }
  return [...byId.values()];
}

/** Phone numbers are shown to admins and operators; staff see a mask (personal data by role). */
export function presentPhone(phone: string | null, viewer: Viewer): string | null {
  if (!phone) return null;
  if (viewer.role !== 'staff') return phone;
  return phone.length > 7 ? `${phone.slice(0, 3)}****${phone.slice(-4)}` : '****';
}

/** A list item (contract: `externalUserId, name, tags, owners`). */
export function presentCustomerItem(i: CustomerListItem) {
  const c = i.customer;
  return {
    externalUserId: c.externalUserId,
    name: c.name,
    avatar: c.avatar ?? null,
    type: c.type,
    gender: c.gender,
    corpName: c.corpName ?? null,
    activity: c.activity,
    tags: presentTags(i.tags),
    owners: i.owners,
  };
}

function presentTimeline(e: TimelineEntry) {
  return { id: e.id, kind: e.kind, summary: e.summary, staffUserid: e.staffUserid, source: e.source, occurredAt: e.occurredAt.toISOString(), data: e.data ?? null };
}

/** The archive (contract: followUsers, tags, birthday, channel, activity, timeline), with open notes and an order summary. */
export function presentArchive(a: CustomerArchive, viewer: Viewer) {
  const c = a.customer;
  return {
    ...presentCustomerItem(a),
    unionid: c.unionid ?? null,
    position: c.position ?? null,
    corpFullName: c.corpFullName ?? null,
    phone: presentPhone(c.phone, viewer),
    region: c.region,
    note: c.note,
    optedOut: c.isOptedOut,
    stage: c.stage,
    rfm: c.rfm,
    birthday: c.birthday ? { calendar: c.birthday.calendar, month: c.birthday.month, day: c.birthday.day, year: c.birthday.year, leapMonth: c.birthday.leapMonth } : null,
    channel: a.channel ? { id: a.channel.id, name: a.channel.name, state: a.channel.state } : null,
    firstAddedAt: c.firstAddedAt?.toISOString() ?? null,
    lastInteractionAt: c.lastInteractionAt?.toISOString() ?? null,
    followUsers: a.relations.map((r) => ({
      userid: r.userid,
      remark: r.remark,
      description: r.description,
      state: r.state,
      addWay: r.addWay,
      addedAt: r.addedAt?.toISOString() ?? null,
      status: r.status,
      remarkMobiles: r.remarkMobiles.map((m) => presentPhone(m, viewer)),
    })),
    timeline: a.timeline.map(presentTimeline),
    notes: a.notes.map(presentNote),
    orders: presentOrderSummary(a.orders),
  };
}
