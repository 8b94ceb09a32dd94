// Analytics (数据分析): the relation changes it counts and the figures it answers with (docs/analytics.md).

/**
 * What happened to one (member, customer) relation. A transfer moves a customer between members: the taker's add is
 * `transferred_in` and the handover's removal `transferred_out`, and neither is growth or a loss.
 */
export type RelationChangeKind = 'added' | 'lost_by_customer' | 'lost_by_staff' | 'transferred_in' | 'transferred_out';

/** One relation change, as the handler that applied it saw it. */
export interface RelationChange {
  kind: RelationChangeKind;
  userid: string;
  externalUserId: string;
  /** The channel the relation came through, or null. */
  channelId: string | null;
  /** The relation's contact-way state, when the caller knows no channel: the recorder looks the channel up by it. */
  state?: string | null;
  /** WeCom's CreateTime of the event, or when it was handled when the event had none. */
  occurredAt: Date;
}

/** One recorded change, with the tags the customer carried then (over all their relations). */
export interface RecordedRelationChange extends RelationChange {
  id: number;
  tagIds: string[];
}

/** Counts of relation changes. `net` = added − both losses; transfers are neither. */
export interface GrowthCounts {
  added: number;
  lostByCustomer: number;
  lostByStaff: number;
  net: number;
  transferredIn: number;
  transferredOut: number;
}

/**
 * The outcomes of a day's adds, known only once their windows have closed. `matured7d` / `matured30d` count the adds
 * whose 7- or 30-day window had closed when the day was last rolled; the rates are taken over those only.
 */
export interface AddOutcomes {
  adds: number;
  matured7d: number;
  retained7d: number;
  matured30d: number;
  retained30d: number;
  ordered30d: number;
  revenue30dCents: number;
}

/** A rollup row of `analytics_daily_growth`. */
export interface GrowthRow {
  day: string;
  userid: string;
  /** '' for no channel. */
  channelId: string;
  added: number;
  lostByCustomer: number;
  lostByStaff: number;
  transferredIn: number;
  transferredOut: number;
  /** Of this row's adds: relations not ended by a deletion within 7 / 30 days; customers who ordered within 30 days. */
  retained7d: number;
  retained30d: number;
  ordered30d: number;
  revenue30dCents: number;
  /** The last day the outcome columns were computed through; null before the day was first rolled. */
  outcomesThrough: string | null;
}

/** A rollup row of `analytics_daily_growth_tags`. */
export interface GrowthTagRow {
  day: string;
  groupId: string;
  tagId: string;
  userid: string;
  added: number;
  lostByCustomer: number;
  lostByStaff: number;
}

/** A snapshot row of `analytics_daily_totals`; userid '' is the corp. */
export interface TotalsRow {
  day: string;
  userid: string;
  customers: number;
}

/** How figures are bucketed. Weeks start on Monday, as in China. */
export type Granularity = 'day' | 'week' | 'month';

/** Whose numbers a caller may see: staff only their own, operators and admins everyone's. */
export interface AnalyticsViewer {
  role: 'staff' | 'operator' | 'admin';
  userid: string | null;
}

/** The three ways a customer is classified nightly by the `scoring` job (客户结构). */
export type MixDimension = 'activity' | 'rfm' | 'stage';
export const MIX_DIMENSIONS: readonly MixDimension[] = ['activity', 'rfm', 'stage'];

/** A customer's values in each dimension; '' where there is none (no RFM segment without orders). */
export type MixValues = Record<MixDimension, string>;

/** What the last mix snapshot saw of a customer, and what the one before it saw. */
export interface StoredMixState {
  externalUserId: string;
  asOf: string;
  values: MixValues;
  prevAsOf: string | null;
  prev: MixValues | null;
}

/** A row of `analytics_daily_mix`; userid '' is the corp. */
export interface MixRow {
  day: string;
  dimension: MixDimension;
  value: string;
  userid: string;
  customers: number;
}

/** A row of `analytics_daily_transitions`: customers whose value went from → to since the night before. */
export interface TransitionRow {
  day: string;
  dimension: MixDimension;
  from: string;
  to: string;
  userid: string;
  customers: number;
}

// What the analytics API answers (README §数据分析): one definition for the server and the console, which imports
// these type-only.

/** What every analytics question takes. */
export interface RangeQuery {
  from?: string;
  to?: string;
  granularity: Granularity;
  /** One member's numbers (staff callers get only their own). */
  userid?: string;
}

/** Which figures a series shows: events can be recomputed for any past day, snapshots cannot. */
export type FigureKind = 'event' | 'snapshot';

/** The resolved frame of an answer. */
export interface Frame {
  from: string;
  to: string;
  granularity: Granularity;
  timezone: string;
  /** 'own' when the numbers are the caller's only (a staff member). */
  scope: 'all' | 'own';
  userid: string | null;
}

/** One growth line: a period and, when split, one channel, member or tag. */
export interface GrowthLine extends GrowthCounts {
  period: string;
  periodStart: string;
  periodEnd: string;
  key: string;
  label: string;
  /** For the tag split: the tag's group. */
  groupId?: string;
  groupName?: string;
}

export interface GrowthAnswer extends Frame {
  kind: 'event';
  by: 'none' | 'channel' | 'staff' | 'tag';
  /** For the tag split: each customer counts once per tag, whichever of their relations carry it. */
  unit: 'relation' | 'customer_per_tag';
  lines: GrowthLine[];
  total: GrowthCounts;
}

export interface TotalsLine {
  period: string;
  /** The snapshot day the figure is from: the period's last day that has one. */
  asOf: string;
  key: string;
  label: string;
  customers: number;
}

export interface TotalsAnswer extends Frame {
  kind: 'snapshot';
  by: 'none' | 'staff';
  lines: TotalsLine[];
}

/** One channel's effectiveness over the range (or one period of it). */
export interface ChannelFigures {
  channelId: string;
  channelName: string;
  adds: number;
  lostByCustomer: number;
  lostByStaff: number;
  net: number;
  /** Adds whose 7-day window had closed when last rolled, and of those how many were still not deleted. */
  matured7d: number;
  retained7d: number;
  retention7d: number | null;
  matured30d: number;
  retained30d: number;
  retention30d: number | null;
  /** Adds who ordered within 30 days (windows still open count what happened so far), and their order total. */
  ordered30d: number;
  /** Share of the matured 30-day adds who ordered within 30 days. */
  orderedShare30d: number | null;
  revenue30dCents: number;
}

export interface ChannelLine extends ChannelFigures {
  period: string;
  periodStart: string;
  periodEnd: string;
}

export type ChannelSort = 'adds' | 'net' | 'retention7d' | 'retention30d' | 'orderedShare30d' | 'revenue';

export interface ChannelsAnswer extends Frame {
  kind: 'event';
  sort: ChannelSort;
  ranking: (ChannelFigures & { rank: number })[];
  /** Relations that came through no channel, for comparison; not ranked. */
  unattributed: ChannelFigures;
  lines: ChannelLine[];
}

/** One value's customers at the end of a period (its last snapshot day). */
export interface MixLine {
  period: string;
  asOf: string;
  value: string;
  label: string;
  customers: number;
  /** Of the customers counted that day (a customer counts once in each dimension). */
  share: number | null;
}

export interface MixAnswer extends Frame {
  kind: 'snapshot';
  dimension: MixDimension;
  lines: MixLine[];
  /** The newest snapshot in the range: the mix as it is. */
  latest: { asOf: string; values: Omit<MixLine, 'period' | 'asOf'>[] } | null;
}

/** Customers whose value went from → to within a period (each night's changes, summed). */
export interface TransitionLine {
  period: string;
  periodStart: string;
  periodEnd: string;
  fromValue: string;
  fromLabel: string;
  toValue: string;
  toLabel: string;
  customers: number;
}

export interface TransitionsAnswer extends Frame {
  kind: 'snapshot';
  dimension: MixDimension;
  lines: TransitionLine[];
  /** Over the whole range, per (from, to). */
  total: Omit<TransitionLine, 'period' | 'periodStart' | 'periodEnd'>[];
}
