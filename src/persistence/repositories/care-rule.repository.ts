import type { Db } from '../db.js';
import { NotFoundError } from '../../shared/errors.js';
import type { MessageAttachment } from '../../wecom/client/types.js';
import type { CareRule, Occasion } from '../../domain/care/care-rule.types.js';
import type { DeliveryChannel } from '../../domain/delivery/delivery.types.js';

interface Row {
  id: string;
  seed_key: string | null;
  name: string;
  kind: string;
  occasion: string;
  audience: string | null;
  template: string;
  attachments: string | null;
  content_ids?: string | null;
  send_time: string;
  priority: number | string;
  channel: DeliveryChannel;
  enabled: number | string | boolean;
  holdout_percent?: number | string | null;
  created_at: number | string;
  updated_at: number | string;
}

function toRule(r: Row): CareRule {
  return {
    id: r.id,
    seedKey: r.seed_key,
    name: r.name,
    occasion: JSON.parse(r.occasion) as Occasion,
    audience: r.audience,
    template: r.template,
    attachments: r.attachments ? (JSON.parse(r.attachments) as MessageAttachment[]) : [],
    contentIds: r.content_ids ? (JSON.parse(r.content_ids) as string[]) : [],
    sendTime: r.send_time,
    priority: Number(r.priority),
    channel: r.channel,
    enabled: r.enabled === true || Number(r.enabled) === 1,
    holdoutPercent: Number(r.holdout_percent ?? 0),
    createdAt: new Date(Number(r.created_at)),
    updatedAt: new Date(Number(r.updated_at)),
  };
}

/** `care_rules`: care and win-back rules. */
export class CareRuleRepository {
  constructor(private readonly db: Db) {}

  /** Insert a rule; false when its name (or seed key) already exists. */
  async insert(rule: Omit<CareRule, 'createdAt' | 'updatedAt'>, now: Date): Promise<boolean> {
    return this.db.writeUnique(
      `INSERT INTO care_rules (id, seed_key, name, kind, occasion, audience, template, attachments, content_ids, send_time, priority, channel, enabled, holdout_percent, created_at, updated_at)
       VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
      [
        rule.id, rule.seedKey, rule.name, rule.occasion.type, JSON.stringify(rule.occasion), rule.audience, rule.template,
        rule.attachments.length ? JSON.stringify(rule.attachments) : null, rule.contentIds?.length ? JSON.stringify(rule.contentIds) : null, rule.sendTime, rule.priority, rule.channel, rule.enabled ? 1 : 0,
        rule.holdoutPercent ?? 0, now.getTime(), now.getTime(),
      ],
    );
  }

  /** Overwrite a rule's editable fields; false when the new name collides. */
  async update(rule: CareRule, now: Date): Promise<boolean> {
    return this.db.writeUnique(
      `UPDATE care_rules SET name = ?, kind = ?, occasion = ?, audience = ?, template = ?, attachments = ?, content_ids = ?, send_time = ?, priority = ?,
         channel = ?, enabled = ?, holdout_percent = ?, updated_at = ? WHERE id = ?`,
      [
        rule.name, rule.occasion.type, JSON.stringify(rule.occasion), rule.audience, rule.template,
        rule.attachments.length ? JSON.stringify(rule.attachments) : null, rule.contentIds?.length ? JSON.stringify(rule.contentIds) : null, rule.sendTime, rule.priority, rule.channel, rule.enabled ? 1 : 0,
        rule.holdoutPercent ?? 0, now.getTime(), rule.id,
      ],
    );
  }

  /** A rule, or null. */
  async find(id: string): Promise<CareRule | null> {
    const [r] = await this.db.query<Row>('SELECT * FROM care_rules WHERE id = ?', [id]);
    return r ? toRule(r) : null;
  }

  /** A rule, or NotFoundError. */
  async get(id: string): Promise<CareRule> {
    const rule = await this.find(id);
    if (!rule) throw new NotFoundError(`关怀规则不存在 / care rule ${id} not found`);
    return rule;
  }

  /** Every rule, highest priority first. */
  async list(opts: { enabledOnly?: boolean; kind?: string } = {}): Promise<CareRule[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (opts.enabledOnly) where.push('enabled = 1');
    if (opts.kind) (where.push('kind = ?'), params.push(opts.kind));
    const rows = await this.db.query<Row>(
      `SELECT * FROM care_rules ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY priority DESC, created_at, id`,
      params,
    );
    return rows.map(toRule);
  }
}
