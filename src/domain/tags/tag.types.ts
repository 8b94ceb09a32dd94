// The tag library and the tags on customers.

/** Where a tag definition lives: a WeCom corp tag, or a tag only this bot knows. */
export type TagSource = 'wecom' | 'local';

/** Who put a tag on a customer. */
export type CustomerTagSource = 'wecom' | 'manual' | 'channel' | 'keyword' | 'behaviour' | 'rule';

/** A tag with its group's name. */
export interface Tag {
  id: string;
  groupId: string;
  groupName: string;
  name: string;
  sortOrder: number;
  source: TagSource;
  deletedAt: Date | null;
}

/** A tag group. */
export interface TagGroup {
  id: string;
  name: string;
  sortOrder: number;
  source: TagSource;
  deletedAt: Date | null;
}

/** One tag on a customer, with who put it there. */
export interface CustomerTag {
  externalUserId: string;
  tagId: string;
  name: string;
  groupName: string;
  userid: string;
  source: CustomerTagSource;
  ruleId: string | null;
}
