// Automatic tag rules (keyword and behaviour).

/** A rule that puts tags on customers automatically. */
export interface TagRule {
  id: string;
  name: string;
  kind: 'keyword' | 'channel' | 'behaviour';
  pattern: string;
  matchType: 'substring' | 'regex';
  /** Tag references: `name`, `组/name` or `组:name`. */
  tags: string[];
  /** A behaviour rule's condition, an audience expression (`activity:dormant`); null for other kinds. */
  audience: string | null;
  isEnabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}
