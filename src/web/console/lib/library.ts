// Lists many pages need (the tag library, staff, channel names), read once per page load and shared.
import { get, type Page } from './api';
import type { Channel, Staff, TagGroup } from './types';

let tags: Promise<TagGroup[]> | null = null;
let staff: Promise<Staff[]> | null = null;

export function tagLibrary(refresh = false): Promise<TagGroup[]> {
  if (!tags || refresh) tags = get<Page<TagGroup>>('/api/v1/tags').then((r) => r.items).catch((e) => ((tags = null), Promise.reject(e)));
  return tags;
}

export function staffList(refresh = false): Promise<Staff[]> {
  if (!staff || refresh) staff = get<Page<Staff>>('/api/v1/staff', { pageSize: 500 }).then((r) => r.items).catch((e) => ((staff = null), Promise.reject(e)));
  return staff;
}

/** Channel names for the customer filter (operators only: the API lists channels to them). */
export function channelNames(): Promise<string[]> {
  return get<Page<Channel>>('/api/v1/channels', { pageSize: 500 }).then((r) => r.items.map((c) => c.name));
}

/** How a tag is named in audiences and tag edits: `group/name`, or `name` for a tag without a group. */
export const tagKey = (t: { name: string; group: string | null }): string => (t.group ? `${t.group}/${t.name}` : t.name);

/** A member's display name, or their userid when WeCom gave none. */
export function staffName(list: Staff[], userid: string | null): string {
  if (!userid) return '—';
  return list.find((s) => s.userid === userid)?.name || userid;
}
