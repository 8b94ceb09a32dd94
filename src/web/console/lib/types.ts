import type { CustomerGroupRow } from './groups';
// What the API answers, as the console reads it (README §HTTP lists the routes).
import type { RepurchaseView } from '../../../domain/repurchase/repurchase.types';

export type Role = 'admin' | 'operator' | 'staff';

export interface Me {
  userid: string | null;
  name: string;
  role: Role;
  /** Null for a token: only the cookie session needs it. */
  csrfToken?: string | null;
  via?: 'cookie' | 'token' | 'session';
}

export interface CustomerTag {
  id: string;
  name: string;
  group: string | null;
  sources?: string[];
}

export interface CustomerItem {
  externalUserId: string;
  name: string;
  avatar: string | null;
  type: number;
  gender: number;
  corpName: string | null;
  activity: string | null;
  tags: CustomerTag[];
  owners: string[];
}

export interface Birthday {
  calendar: 'solar' | 'lunar';
  month: number;
  day: number;
  year: number | null;
  leapMonth?: boolean;
}

export interface FollowUser {
  userid: string;
  remark: string | null;
  description: string | null;
  state: string | null;
  addWay: number | null;
  addedAt: string | null;
  status: string;
  remarkMobiles: (string | null)[];
}

export interface TimelineItem {
  id: number;
  kind: string;
  summary: string;
  staffUserid: string | null;
  source: string;
  occurredAt: string;
}

export interface Note {
  id: number;
  externalUserId: string;
  text: string;
  dueDate: string | null;
  userid: string;
  createdAt: string;
  doneAt: string | null;
}

export interface CustomerArchive extends CustomerItem {
  unionid: string | null;
  position: string | null;
  corpFullName: string | null;
  phone: string | null;
  region: string | null;
  note: string | null;
  optedOut: boolean;
  stage: string | null;
  rfm: string | null;
  birthday: Birthday | null;
  channel: { id: string; name: string; state: string } | null;
  firstAddedAt: string | null;
  lastInteractionAt: string | null;
  followUsers: FollowUser[];
  timeline: TimelineItem[];
  notes: Note[];
  orders: { count: number; totalCents: number; lastOrderedAt: string | null };
  /** The predicted next order (docs/repurchase.md §API); null with fewer than two order days. */
  repurchase?: Repurchase | null;
  /** The customer groups they are in and were in (docs/groups.md §Archive). */
  groups?: CustomerGroupRow[];
}

/** A customer's predicted next order, as the archive answers it (the domain's type, docs/repurchase.md §API). */
export type Repurchase = RepurchaseView;

export interface Order {
  id: number;
  orderNo: string;
  externalUserId: string;
  amountCents: number;
  orderedAt: string;
}

export interface LibraryTag {
  id: string;
  name: string;
  group: string | null;
  groupId: string | null;
  source: string;
}

export interface TagGroup {
  id: string;
  name: string;
  source: string;
  tags: LibraryTag[];
}

export interface Staff {
  userid: string;
  name: string;
  status: string;
  nameSource: string | null;
  accessRevokedAt: string | null;
}

export interface Channel {
  id: string;
  name: string;
  state: string;
  qrCode: string | null;
  configId: string | null;
  staff: string[];
  tags: string[];
  welcome: { text: string; attachments?: unknown[]; contentIds?: string[] } | null;
  createdAt: string;
  updatedAt: string;
  stats?: { day: string; adds: number; deletes: number; net: number }[];
}

export interface InboxEvent {
  id: number;
  receivedAt: string;
  kind: string;
  status: string;
  attempts: number;
  error: string | null;
  processedAt: string | null;
}

export interface Delivery {
  id: number;
  kind: string;
  source: string;
  /** The source in words (关怀规则「…」, 群发「…」, 满意度调查：…, 会员等级升级祝贺); never show `source` itself. */
  sourceName: string | null;
  externalUserId: string;
  occasion: string;
  sender: string | null;
  text: string;
  status: string;
  reason: string | null;
  localDate: string | null;
  createdAt: string;
  sentAt: string | null;
}

export interface Broadcast {
  id: string;
  name: string;
  audience: string;
  message: { text: string };
  sendAt: string;
  status: string;
  reason: string | null;
  audienceCount: number;
  tasksEstimate: number;
  personalized: boolean;
  tasksNote: string;
  /** The share of the audience held out to measure the lift, 0–50 (docs/analytics.md §Holdout). */
  holdoutPercent: number;
  createdBy: string | null;
  createdAt: string;
  stats: { total: number; byStatus: Record<string, number>; skippedByReason?: Record<string, number> };
}

export interface Readiness {
  status: string;
  checks: Record<string, string>;
  inbox?: {
    urgent: { count: number; oldestAgeSeconds: number | null };
    ordinary: { count: number; oldestAgeSeconds: number | null };
    waiting: number;
    handledPerSecond: number | null;
    drainSecondsEstimate: number | null;
  };
}

export interface CareRule {
  id: string;
  name: string;
  occasion: { type: string; holidays?: string[]; days?: number[]; years?: boolean; afterDays?: number; steps?: { day: number; template: string }[] };
  audience: string | null;
  template: string;
  sendTime: string;
  priority: number;
  channel: string;
  enabled: boolean;
  seedKey: string | null;
  updatedAt: string;
}

export interface TagRule {
  id: string;
  name: string;
  kind: 'keyword' | 'behaviour';
  pattern: string;
  matchType: string;
  audience: string | null;
  tags: string[];
  enabled: boolean;
  updatedAt: string;
}

export interface Member {
  userid: string;
  name: string;
  status: string;
  role: Role | null;
  roleSource: 'config' | 'granted' | null;
  grantedBy: string | null;
  grantedAt: string | null;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: { kind: string; id: string; name: string; role: string | null };
  source: string;
  ip: string | null;
  method: string;
  route: string;
  action: string;
  targetId: string | null;
  status: number;
  request: unknown;
  before: unknown;
  after: unknown;
  redacted: boolean;
}
