// The customer list's filters, written as the audience expression the API takes (README §HTTP,
// docs/audiences.md), so what the filters mean can be read, copied into a broadcast, and checked against a count.

export interface CustomerFilters {
  /** Tag names (`group/name` for a tag in a group): a customer with any of them matches. */
  tags: string[];
  owner: string;
  activity: string;
  stage: string;
  rfm: string;
  channel: string;
  /** `YYYY-MM-DD` bounds of the first add, inclusive. */
  addedFrom: string;
  addedTo: string;
}

export const emptyFilters = (): CustomerFilters => ({ tags: [], owner: '', activity: '', stage: '', rfm: '', channel: '', addedFrom: '', addedTo: '' });

/** A value as the parser reads it: always quoted, `"` and `\` escaped (the only escapes it knows). */
export function quote(v: string): string {
  return `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export function toAudience(f: CustomerFilters): string {
  const parts: string[] = [];
  if (f.tags.length === 1) parts.push(`tag:${quote(f.tags[0])}`);
  if (f.tags.length > 1) parts.push(`(${f.tags.map((t) => `tag:${quote(t)}`).join(' OR ')})`);
  if (f.owner) parts.push(`owner:${quote(f.owner)}`);
  if (f.activity) parts.push(`activity:${f.activity}`);
  if (f.stage) parts.push(`stage:${quote(f.stage)}`);
  if (f.rfm) parts.push(`rfm:${quote(f.rfm)}`);
  if (f.channel) parts.push(`channel:${quote(f.channel)}`);
  if (f.addedFrom) parts.push(`added>=${f.addedFrom}`);
  if (f.addedTo) parts.push(`added<=${f.addedTo}`);
  return parts.join(' AND ');
}
