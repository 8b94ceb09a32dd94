// Care and win-back rules as the 关怀 and 挽回 pages edit them, the care calendar's answers, and the template preview.
import { HOLIDAY } from './labels';

export type OccasionType = 'birthday' | 'holiday' | 'anniversary' | 'followup' | 'note_due' | 'repurchase' | 'winback';
export type Channel = 'mass_task' | 'staff_reminder' | 'kf';

export interface WinbackStep {
  day: number;
  channel: Channel;
  template: string;
}

export type Occasion =
  | { type: 'birthday'; daysBefore?: number }
  | { type: 'holiday'; holidays: string[] }
  | { type: 'anniversary'; days: number[]; years: boolean }
  | { type: 'followup'; afterDays: number }
  | { type: 'note_due' }
  | { type: 'repurchase'; daysBefore: number }
  | { type: 'winback'; steps: WinbackStep[]; entry?: 'dormant' | 'churn_risk' };

/** A rule as GET /api/v1/care-rules answers it. */
export interface Rule {
  id: string;
  name: string;
  occasion: Occasion;
  audience: string | null;
  template: string;
  /** 素材库 items after the template (docs/content.md §Composers). */
  contentIds?: string[];
  sendTime: string;
  priority: number;
  channel: Channel;
  enabled: boolean;
  /** The share of the audience held out to measure the lift, 0–50 (docs/analytics.md §Holdout). */
  holdoutPercent: number;
  seedKey: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The settings the calendar applies (config/care-rules.json, read-only). */
export interface CareSettings {
  careTime: string;
  quietHours: { start: string; end: string };
  perCustomerPerDay: number;
  massQuotaRule: string;
}

export interface CalendarRuleDay {
  ruleId: string;
  planned: number;
  already: number;
  skipped: Record<string, number>;
  optedOut: number;
  sendsAt: string | null;
  isHeldByQuietHours: boolean;
  isExpiringUnsent: boolean;
}

export interface CalendarDay {
  date: string;
  lunar: string;
  holidays: string[];
  rules: CalendarRuleDay[];
}

export interface Calendar {
  from: string;
  days: number;
  timezone: string;
  settings: CareSettings;
  rules: { id: string; name: string; occasion: Occasion; priority: number; sendTime: string; channel: Channel }[];
  items: CalendarDay[];
}

export interface CalendarCustomer {
  externalUserId: string;
  name: string;
  sender: { userid: string; name: string } | null;
  occasion: string | null;
  text: string | null;
  outcome: 'planned' | 'already' | 'skipped' | 'opted_out';
  reason: string | null;
}

/** A win-back campaign's funnel (GET /api/v1/care-rules/:id/stats). */
export interface CampaignStats {
  enrolled: number;
  active: number;
  messaged: number;
  sent: number;
  reactivated: number;
  completed: number;
  rate: number;
}

/** Customers a calendar line reaches or names: planned and already planned reach them. */
export const reach = (l: CalendarRuleDay) => l.planned + l.already;
export const skippedTotal = (l: CalendarRuleDay) => Object.values(l.skipped).reduce((a, b) => a + b, 0);

/** The variables a template may use for an occasion, with what each stands for. */
export function templateVariables(type: OccasionType): { name: string; meaning: string }[] {
  const common = [
    { name: 'name', meaning: '客户昵称' },
    { name: 'staff', meaning: '发送员工' },
  ];
  switch (type) {
    case 'birthday':
      return [...common, { name: 'days', meaning: '距生日天数' }];
    case 'holiday':
      return [...common, { name: 'holiday', meaning: '节日名称' }];
    case 'anniversary':
      return [...common, { name: 'days', meaning: '添加天数' }, { name: 'years', meaning: '添加年数（周年）' }];
    case 'followup':
      return [...common, { name: 'days', meaning: '添加天数' }];
    case 'note_due':
      return [...common, { name: 'note', meaning: '跟进记录内容' }];
    case 'repurchase':
      return [...common, { name: 'days', meaning: '距预计购买天数' }, { name: 'date', meaning: '预计购买日期' }];
    case 'winback':
      return [...common, { name: 'days', meaning: '入组天数' }];
    default:
      return common;
  }
}

const VARIABLE = /\{\{\s*([\p{L}_][\p{L}\p{N}_]*)\s*\}\}/gu;

/** Variables a template uses that its occasion does not give. */
export function unknownVariables(template: string, type: OccasionType): string[] {
  const known = new Set(templateVariables(type).map((v) => v.name));
  return [...new Set(Array.from(template.matchAll(VARIABLE), (m) => m[1]).filter((v) => !known.has(v)))];
}

/** A template rendered with example values, as the planner renders it (an unknown variable renders empty). */
export function renderExample(template: string, occasion: Occasion, staff: string): string {
  const holiday = occasion.type === 'holiday' ? (HOLIDAY[occasion.holidays[0]] ?? '节日') : '中秋节';
  const days =
    occasion.type === 'anniversary' ? (occasion.days[0] ?? 365) : occasion.type === 'followup' ? occasion.afterDays : occasion.type === 'birthday' || occasion.type === 'repurchase' ? (occasion.daysBefore ?? 0) : 7;
  const values: Record<string, string> = { name: '王小明', staff, holiday, days: String(days), years: '1', note: '回访上次购买的体验', date: '2026-12-20' };
  return template.replace(VARIABLE, (_whole, v: string) => values[v] ?? '');
}

/** Byte length in UTF-8: WeCom's text limits are in bytes (a Chinese character is 3). */
export const utf8Bytes = (s: string) => new TextEncoder().encode(s).length;
