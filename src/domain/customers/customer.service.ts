import { randomUUID } from 'node:crypto';
import { consentEntry } from './consent.js';
import type { Db } from '../../persistence/db.js';
import type { CustomerRepository } from '../../persistence/repositories/customer.repository.js';
import type { Customer, CustomerBirthday } from './customer.types.js';
import type { FollowRelationRepository } from '../../persistence/repositories/follow-relation.repository.js';
import type { FollowRelation } from './follow-relation.types.js';
import type { TagRepository } from '../../persistence/repositories/tag.repository.js';
import type { CustomerTag, Tag } from '../tags/tag.types.js';
import type { TimelineRepository } from '../../persistence/repositories/timeline.repository.js';
import type { TimelineEntry } from './timeline.types.js';
import type { ChannelRepository } from '../../persistence/repositories/channel.repository.js';
import type { Channel } from '../channels/channel.types.js';
import type { NoteRepository } from '../../persistence/repositories/note.repository.js';
import type { Note } from './note.types.js';
import type { OrderRepository } from '../../persistence/repositories/order.repository.js';
import type { OrderSummary } from '../orders/order.types.js';
import type { Clock } from '../../shared/clock.js';
import { NotFoundError, ValidationError } from '../../shared/errors.js';
import { localDate } from '../../shared/dates.js';
import { isValidBirthday } from '../care/occasions.js';
import { compileAudience } from '../audiences/audience.compiler.js';
import { parseAudience } from '../audiences/audience.parser.js';
import { resolveAudienceTags } from '../audiences/audience.tags.js';
import { buildPredicate } from '../audiences/audience.values.js';
import type { AudienceExpr } from '../audiences/audience.types.js';
import type { TagLibraryService } from '../tags/tag-library.service.js';
import type { CustomerTaggingService } from '../tags/customer-tagging.service.js';
import type { SearchBudget } from './search-budget.js';

/** Who is asking: staff principals see only customers they follow. */
export interface Viewer {
  role: 'admin' | 'operator' | 'staff';
  userid: string | null;
  /** The principal's search-budget key (principalKey) when the request came over HTTP; internal callers have none. */
  principal?: string;
}

/** A customer with tags and owners, for lists. */
export interface CustomerListItem {
  customer: Customer;
  tags: CustomerTag[];
  owners: string[];
}

/** The whole archive of one customer. */
export interface CustomerArchive extends CustomerListItem {
  relations: FollowRelation[];
  channel: Channel | null;
  timeline: TimelineEntry[];
  /** Open follow-up notes, soonest due first. */
  notes: Note[];
  /** Order count, total (cents) and latest order time. */
  orders: OrderSummary;
}

/** Operator edits (PATCH). */
export interface CustomerPatch {
  birthday?: { calendar: 'solar' | 'lunar'; month: number; day: number; year?: number | null; leapMonth?: boolean } | null;
  phone?: string | null;
  note?: string | null;
  region?: string | null;
  /** The customer asked to receive no marketing messages (care, win-back, broadcasts); false withdraws that. */
  optedOut?: boolean;
}

/** Settings of CustomerService (config). */
export interface CustomerServiceOptions {
  /** STAFF_MAY_CREATE_TAGS: staff may name tags that do not exist yet, which creates them as corp tags. */
  staffMayCreateTags?: boolean;
  /** Searches (`q`) per principal and window; over budget, list() throws 429 (docs/security.md §Phone search). */
  searchBudget?: Pick<SearchBudget, 'spend'>;
}

/** Reading and editing customer archives, audience queries and manual tags. */
export class CustomerService {
  constructor(
    private readonly db: Db,
    private readonly customers: CustomerRepository,
    private readonly relations: FollowRelationRepository,
    private readonly tags: TagRepository,
    private readonly timeline: TimelineRepository,
    private readonly channels: ChannelRepository,
    private readonly library: TagLibraryService,
    private readonly tagging: CustomerTaggingService,
    private readonly clock: Clock,
    private readonly timezone: string,
    private readonly notes: NoteRepository,
    private readonly orders: OrderRepository,
    private readonly options: CustomerServiceOptions = {},
  ) {}

  /**
   * The WHERE fragment for an audience expression (400 on a syntax error), scoped to a staff viewer. Its tag names
   * are resolved to ids first, with an API read (docs/audiences.md §Tag names become ids).
   */
  async audienceWhere(audience: string | undefined, viewer: Viewer): Promise<{ sql: string; params: unknown[] }> {
    const expr = parseAudience(audience ?? '');
    const tagIds = await resolveAudienceTags((values) => this.tags.liveTagsNamed(values, { isApiRead: true }), expr);
    const compiled = compileAudience(expr, { engine: this.db.engine, today: localDate(this.clock.now(), this.timezone), timezone: this.timezone, tagIds, now: this.clock.now().getTime() });
    if (viewer.role !== 'staff') return compiled;
    return this.customers.followedBy(compiled, viewer.userid ?? '');
  }

  /**
   * A page of customers in an audience, optionally searched (`q`) by name, remark or phone. A phone matches only
   * when `q` is a whole number (the blind index compares the complete normalized number, never a part), and a staff
   * viewer's search covers only the customers they follow. Every search with `q` is counted against the
   * principal's budget first (429 beyond it), so guessing the digits a mask hides is not practical
   * (docs/security.md §Phone search).
   */
  async list(input: { audience?: string; q?: string; page: number; pageSize: number }, viewer: Viewer): Promise<{ items: CustomerListItem[]; total: number }> {
    const where = await this.audienceWhere(input.audience, viewer);
    if (input.q && viewer.principal && this.options.searchBudget) await this.options.searchBudget.spend(viewer.principal);
    const { items, total } = await this.customers.search(where, input.q, input.page, input.pageSize);
    return { items: await this.decorate(items), total };
  }

  /** How many customers an audience holds (for a staff viewer: of those they follow). An API read (Db.apiRead). */
  async count(audience: string, viewer: Viewer): Promise<number> {
    const where = await this.audienceWhere(audience, viewer);
    return this.customers.countWhere(where);
  }

  /** Preview an audience: size, per-staff counts and a sample. */
  async preview(audience: string, viewer: Viewer): Promise<{ count: number; byStaff: { userid: string; count: number }[]; sample: CustomerListItem[] }> {
    const where = await this.audienceWhere(audience, viewer);
    const sample = await this.customers.search(where, undefined, 1, 10);
    const byStaff = await this.customers.followerCountsWhere(where);
    return { count: sample.total, byStaff, sample: await this.decorate(sample.items) };
  }

  /** The archive, or 404 (also when a staff viewer does not follow the customer). */
  async getArchive(ext: string, viewer: Viewer): Promise<CustomerArchive> {
    await this.assertVisible(ext, viewer);
    const customer = await this.customers.get(ext);
    const [item] = await this.decorate([customer]);
    return {
      ...item,
      relations: await this.relations.listForCustomer(ext),
      channel: customer.channelId ? await this.channels.get(customer.channelId).catch(() => null) : null,
      timeline: await this.timeline.listForCustomer(ext, 100),
      notes: await this.notes.listOpenForCustomer(ext, 100),
      orders: await this.orders.summaryForCustomer(ext),
    };
  }

  /** The customer if this viewer may see it; NotFoundError otherwise (unknown, or a staff viewer who does not follow it). */
  async getVisible(ext: string, viewer: Viewer): Promise<Customer> {
    await this.assertVisible(ext, viewer);
    return this.customers.get(ext);
  }

  /** Apply operator edits; a birthday must be a date that can occur. */
  async patch(ext: string, patch: CustomerPatch, viewer: Viewer): Promise<CustomerArchive> {
    await this.assertVisible(ext, viewer);
    await this.customers.get(ext);
    let birthday: CustomerBirthday | null | undefined;
    if (patch.birthday) {
      const b = patch.birthday;
      const leap = b.calendar === 'lunar' && b.leapMonth === true;
      if (!isValidBirthday({ calendar: b.calendar, month: b.month, day: b.day, leapMonth: leap })) throw new ValidationError('生日日期无效', undefined, 'invalid_birthday');
      birthday = { calendar: b.calendar, month: b.month, day: b.day, year: b.year ?? null, leapMonth: leap };
    } else birthday = patch.birthday;
    if (patch.phone && !/^[+\d][\d\s-]{4,30}$/.test(patch.phone)) throw new ValidationError('手机号格式无效', undefined, 'invalid_phone');
    const now = this.clock.now();
    await this.customers.applyEdits(ext, { birthday, phone: patch.phone, note: patch.note, region: patch.region }, now.getTime());
    if (patch.optedOut !== undefined) {
      const isOptedOut = patch.optedOut;
      await this.db.tx(async (em) => {
        if (!(await this.customers.setOptedOutInTx(em, ext, isOptedOut, now.getTime()))) return;
        const entry = consentEntry({ externalUserId: ext, isOptedOut, via: 'staff', staffUserid: viewer.userid ?? null, sourceId: randomUUID(), at: now });
        await this.timeline.addInTx(em, entry, now);
      });
    }
    return this.getArchive(ext, viewer);
  }

  /** Manual tags: add and remove by name, in WeCom (every active relation) and locally. */
  async changeTags(ext: string, change: { add: string[]; remove: string[] }, viewer: Viewer): Promise<CustomerTag[]> {
    await this.assertVisible(ext, viewer);
    await this.customers.get(ext);
    const { add, removeIds } = await this.resolveTagChange(change, viewer);
    await this.applyTagChange(ext, add, removeIds);
    return this.tags.listForCustomer(ext);
  }

  /**
   * The tags a change names, resolved once for one customer or many (a bulk change). Corp tags are company-wide, and
   * POST /api/v1/tags refuses staff: staff apply existing tags only, unless an operator allows more
   * (STAFF_MAY_CREATE_TAGS; docs/security.md §Staff tags). Checked for every name before anything is applied, so a
   * refused request changes nothing.
   */
  async resolveTagChange(change: { add: string[]; remove: string[] }, viewer: Viewer): Promise<{ add: Tag[]; removeIds: string[] }> {
    const mayCreate = viewer.role !== 'staff' || this.options.staffMayCreateTags === true;
    const add = mayCreate ? await this.library.ensureTags(change.add) : await this.library.existingTags(change.add);
    const removeIds: string[] = [];
    for (const ref of change.remove) {
      const t = await this.library.resolve(ref);
      if (t) removeIds.push(t.id);
    }
    return { add, removeIds };
  }

  /** Apply resolved tags to one customer: WeCom's mark_tag on every active relation, then the archive. */
  async applyTagChange(ext: string, add: Tag[], removeIds: string[]): Promise<void> {
    await this.tagging.addTags({ externalUserId: ext, tags: add, source: 'manual' });
    // A person removing a tag removes it whatever put it there.
    const current = await this.tags.listForCustomer(ext);
    for (const source of new Set(current.filter((t) => removeIds.includes(t.tagId) && t.source !== 'wecom').map((t) => t.source))) {
      await this.tagging.removeTags({ externalUserId: ext, tagIds: removeIds, source });
    }
    if (removeIds.length > 0) await this.tagging.removeTags({ externalUserId: ext, tagIds: removeIds, source: 'manual' });
  }

  /**
   * The customers a hand-picked list or an audience names that this viewer may see (a staff viewer: those they
   * follow), in id order, at most `limit` (the caller asks one more than its bound to tell "too many").
   */
  async visibleIds(target: { customers?: string[]; audience?: string }, viewer: Viewer, limit: number): Promise<string[]> {
    let expr: AudienceExpr;
    if (target.customers) {
      // Only ids an `id:` term can name (anything else names no customer); the list is not bound by the language's length.
      const ids = [...new Set(target.customers)].filter((id) => buildPredicate('id', ':', id) !== null);
      if (ids.length === 0) return [];
      expr = { type: 'pred', field: 'id', op: ':', value: ids.join(',') };
    } else expr = parseAudience(target.audience ?? '');
    const tagIds = await resolveAudienceTags((values) => this.tags.liveTagsNamed(values, { isApiRead: true }), expr);
    const compiled = compileAudience(expr, { engine: this.db.engine, today: localDate(this.clock.now(), this.timezone), timezone: this.timezone, tagIds, now: this.clock.now().getTime() });
    const where = viewer.role === 'staff' ? this.customers.followedBy(compiled, viewer.userid ?? '') : compiled;
    return this.customers.idsWhere(where, limit);
  }

  private async assertVisible(ext: string, viewer: Viewer): Promise<void> {
    if (viewer.role === 'staff' && !(viewer.userid && (await this.relations.isFollowedBy(ext, viewer.userid)))) {
      throw new NotFoundError('客户不存在', 'customer_not_found');
    }
  }

  private async decorate(customers: Customer[]): Promise<CustomerListItem[]> {
    const ids = customers.map((c) => c.externalUserId);
    const tags = await this.tags.listForCustomers(ids);
    const owners = await this.relations.activeOwnersOf(ids);
    return customers.map((c) => ({ customer: c, tags: tags.get(c.externalUserId) ?? [], owners: owners.get(c.externalUserId) ?? [] }));
  }
}
