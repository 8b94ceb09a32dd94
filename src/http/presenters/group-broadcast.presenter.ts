import type { GroupBroadcast, GroupBroadcastView, GroupRowCounts } from '../../domain/group-broadcasts/group-broadcast.types.js';

/** A group broadcast's fields as the API shows them. */
function presentBase(b: GroupBroadcast) {
  return {
    id: b.id,
    name: b.name,
    origin: b.origin,
    status: b.status,
    message: { text: b.text, attachments: b.attachments, contentIds: b.contentIds },
    filter: b.filter,
    groups: b.groupsCount,
    members: b.membersCount,
    owners: b.ownersCount,
    createdBy: b.createdBy,
    sendAt: b.sendAt.toISOString(),
    createdAt: b.createdAt.toISOString(),
    finishedAt: b.finishedAt?.toISOString() ?? null,
  };
}

/** A row of the list: the broadcast and its groups per ledger status. */
export function presentGroupBroadcastListItem(x: { broadcast: GroupBroadcast; rows: GroupRowCounts }) {
  return { ...presentBase(x.broadcast), rows: x.rows };
}

/** A broadcast with each owner's confirmation state (their task: waiting in 群发助手, sent, refused) and groups. */
export function presentGroupBroadcast(v: GroupBroadcastView & { isExisting?: boolean }) {
  return {
    ...presentBase(v.broadcast),
    rows: v.rows,
    ownerProgress: v.owners,
    ...(v.isExisting === undefined ? {} : { isExisting: v.isExisting }),
  };
}
