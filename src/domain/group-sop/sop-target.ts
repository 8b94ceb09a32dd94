import type { GroupFilter } from '../groups/group-chat.types.js';
import type { SopTarget } from './group-sop.types.js';

/**
 * The archive's group filter for a plan's target. An empty list or a blank name narrows nothing (docs/groups.md
 * §Targets), where the filter would read an empty list as "no group".
 */
export function sopTargetFilter(t: SopTarget): GroupFilter {
  const f: GroupFilter = {};
  if (t.owners?.length) f.owners = t.owners;
  if (t.labelIds?.length) f.labelIds = t.labelIds;
  if (t.chatIds?.length) f.chatIds = t.chatIds;
  if (t.namePattern?.trim()) f.namePattern = t.namePattern.trim();
  if (t.minMembers !== undefined) f.minMembers = t.minMembers;
  if (t.maxMembers !== undefined) f.maxMembers = t.maxMembers;
  return f;
}
