import type { Db } from '../db.js';
import { NotFoundError } from '../../shared/errors.js';
import type { TagRule } from '../../domain/tags/tag-rule.types.js';

interface Row {
  id: string;
  name: string;
  kind: TagRule['kind'];
  pattern: string;
  match_type: TagRule['matchType'];
  tags: string | null;
  audience: string | null;
  enabled: number | string | boolean;
  created_at: number | string;
  updated_at: number | string;
}

function map(r: Row): TagRule {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    pattern: r.pattern,
    matchType: r.match_type,
    tags: r.tags ? (JSON.parse(r.tags) as string[]) : [],
    audience: r.audience ?? null,
    isEnabled: Boolean(Number(r.enabled)),
    createdAt: new Date(Number(r.created_at)),
    updatedAt: new Date(Number(r.updated_at)),
  };
}

/** Tag rules (keyword, channel, behaviour). */
export class TagRuleRepository {
  constructor(private readonly db: Db) {}

  /** Insert a rule; false when the name is taken. */
  async insert(r: TagRule): Promise<boolean> {
    return this.db.writeUnique('INSERT INTO tag_rules (id, name, kind, pattern, match_type, tags, audience, enabled, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)', [
      r.id,
      r.name,
      r.kind,
      r.pattern,
      r.matchType,
      JSON.stringify(r.tags),
      r.audience,
      r.isEnabled ? 1 : 0,
      r.createdAt.getTime(),
      r.updatedAt.getTime(),
    ]);
  }

  /** Overwrite a rule. */
  async update(r: TagRule): Promise<void> {
    await this.db.query('UPDATE tag_rules SET name = ?, kind = ?, pattern = ?, match_type = ?, tags = ?, audience = ?, enabled = ?, updated_at = ? WHERE id = ?', [
      r.name,
      r.kind,
      r.pattern,
      r.matchType,
      JSON.stringify(r.tags),
      r.audience,
      r.isEnabled ? 1 : 0,
      r.updatedAt.getTime(),
      r.id,
    ]);
  }

  /** Delete a rule (the tags it wrote stay on customers). */
  async delete(id: string): Promise<void> {
    await this.db.query('DELETE FROM tag_rules WHERE id = ?', [id]);
  }

  /** The rule or NotFoundError. */
  async get(id: string): Promise<TagRule> {
    const rows = await this.db.query<Row>('SELECT * FROM tag_rules WHERE id = ?', [id]);
    if (!rows[0]) throw new NotFoundError('规则不存在', 'tag_rule_not_found');
    return map(rows[0]);
  }

  /** Every rule, oldest first. */
  async list(): Promise<TagRule[]> {
    return (await this.db.query<Row>('SELECT * FROM tag_rules ORDER BY created_at, id')).map(map);
  }

  /** Enabled rules of one kind. */
  async listEnabled(kind: TagRule['kind']): Promise<TagRule[]> {
    return (await this.db.query<Row>('SELECT * FROM tag_rules WHERE kind = ? AND enabled = 1 ORDER BY created_at, id', [kind])).map(map);
  }

  /** How many rules exist (seeding runs only into an empty table). */
  async count(): Promise<number> {
    const [{ n }] = await this.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM tag_rules');
    return Number(n);
  }
}
