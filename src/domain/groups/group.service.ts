import type { GroupChatRepository } from '../../persistence/repositories/group-chat.repository.js';
import type { GroupLabelRepository } from '../../persistence/repositories/group-label.repository.js';
import type { TagRepository } from '../../persistence/repositories/tag.repository.js';
import type { CustomerRepository } from '../../persistence/repositories/customer.repository.js';
import type { CustomerTag } from '../tags/tag.types.js';
import type { Clock } from '../../shared/clock.js';
import { ConflictError, NotFoundError, ValidationError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { CustomerGroup, GroupCounts, GroupFilter, GroupLabel, GroupMembership, GroupSummary } from './group-chat.types.js';

/** Who asks: staff see the groups they own; operators and admins see every group. */
export interface GroupViewer {
  role: 'staff' | 'operator' | 'admin';
  userid: string | null;
}

/** A group member as the detail shows them: the spell, and for a customer in the archive their name and tags. */
export interface GroupMemberView extends GroupMembership {
  isCustomer: boolean;
  customerName: string | null;
  tags: CustomerTag[];
}

/** A group's detail: the row, its current members, and how many spells it has had. */
export interface GroupDetail extends GroupSummary {
  members: GroupMemberView[];
  /** Members who left (closed spells), newest first, at most 200. */
  departed: GroupMembership[];
}

const LABEL_NAME_MAX = 50;

/** 客户群 for the API and console: lists, detail with members, labels (docs/groups.md §Archive, §Labels). */
export class GroupService {
  constructor(
    private readonly chats: GroupChatRepository,
    private readonly labels: GroupLabelRepository,
    private readonly customers: CustomerRepository,
    private readonly tags: TagRepository,
    private readonly clock: Clock,
  ) {}

  /** A page of groups matching the filter; staff only see their own. */
  list(filter: GroupFilter, page: number, pageSize: number, viewer: GroupViewer): Promise<{ items: GroupSummary[]; total: number }> {
    return this.chats.list(this.scoped(filter, viewer), page, pageSize);
  }

  /** How many groups and members a filter selects (for previews). */
  count(filter: GroupFilter, viewer: GroupViewer): Promise<GroupCounts> {
    return this.chats.count(this.scoped(filter, viewer));
  }

  /** One group with its members; NotFoundError when unknown or, for staff, not theirs. */
  async get(chatId: string, viewer: GroupViewer): Promise<GroupDetail> {
    const g = await this.chats.find(chatId);
    if (!g || (viewer.role === 'staff' && g.owner !== viewer.userid)) throw new NotFoundError('客户群不存在');
    const current = await this.chats.currentMembers(chatId);
    const departed = (await this.chats.history(chatId)).filter((s) => s.leftAt !== null).reverse().slice(0, 200);
    const ext = current.filter((m) => m.type === 2).map((m) => m.memberId);
    const known = new Map((await this.customers.findMany(ext)).map((c) => [c.externalUserId, c.name]));
    const tags = await this.tags.listForCustomers([...known.keys()]);
    const members = current.map((m) => ({ ...m, isCustomer: known.has(m.memberId), customerName: known.get(m.memberId) ?? null, tags: tags.get(m.memberId) ?? [] }));
    return { ...g, members, departed };
  }

  /** The groups a customer is in (and was in), for the profile. */
  groupsOfCustomer(externalUserId: string): Promise<CustomerGroup[]> {
    return this.chats.groupsOfCustomer(externalUserId, { isPastIncluded: true });
  }

  /** Every label, with how many groups carry it. */
  listLabels(): Promise<GroupLabel[]> {
    return this.labels.list();
  }

  /** Create a label; 409 when the name is taken. */
  async createLabel(input: { name: string; color?: string }): Promise<GroupLabel> {
    const name = checkName(input.name);
    const label = { id: newId(this.clock.now().getTime()), name, color: input.color ?? '' };
    if (!(await this.labels.create(label, this.clock.now().getTime()))) throw new ConflictError(`标签「${name}」已存在`, 'group_label_exists');
    return label;
  }

  /** Rename or recolour a label. */
  async updateLabel(id: string, patch: { name?: string; color?: string }): Promise<{ before: GroupLabel; after: GroupLabel }> {
    const before = await this.requireLabel(id);
    const after = { id, name: patch.name === undefined ? before.name : checkName(patch.name), color: patch.color ?? before.color };
    if (!(await this.labels.update(id, after, this.clock.now().getTime()))) throw new ConflictError(`标签「${after.name}」已存在`, 'group_label_exists');
    return { before, after };
  }

  /** Delete a label and take it off every group. */
  async deleteLabel(id: string): Promise<GroupLabel> {
    const label = await this.requireLabel(id);
    await this.labels.delete(id);
    return label;
  }

  /** Put labels on groups and take others off; every label and group must exist. */
  async assignLabels(input: { chatIds: string[]; add: string[]; remove: string[] }): Promise<void> {
    for (const id of [...input.add, ...input.remove]) await this.requireLabel(id);
    const known = new Set((await this.chats.matching({ chatIds: input.chatIds, isDismissedIncluded: true })).map((g) => g.chatId));
    const unknown = input.chatIds.filter((c) => !known.has(c));
    if (unknown.length > 0) throw new NotFoundError(`客户群不存在：${unknown.slice(0, 5).join('、')}`);
    await this.labels.assign(input.chatIds, input.add, input.remove, this.clock.now().getTime());
  }

  private async requireLabel(id: string): Promise<GroupLabel> {
    const label = await this.labels.find(id);
    if (!label) throw new NotFoundError('群标签不存在');
    return label;
  }

  private scoped(filter: GroupFilter, viewer: GroupViewer): GroupFilter {
    if (viewer.role !== 'staff') return filter;
    const own = viewer.userid ?? '';
    return { ...filter, owners: filter.owners ? filter.owners.filter((o) => o === own) : [own] };
  }
}

function checkName(raw: string): string {
  const name = raw.trim();
  if (!name) throw new ValidationError('标签名不能为空', undefined, 'invalid_label');
  if ([...name].length > LABEL_NAME_MAX) throw new ValidationError(`标签名最多 ${LABEL_NAME_MAX} 个字`, undefined, 'invalid_label');
  return name;
}
