// 客户群继承 from the console: the groups a member owns, offered when their customers are handed over, and the call
// that hands the chosen ones over (POST /api/v1/group-transfers; docs/groups.md §Group transfers).
import { get, newIdempotencyKey, post } from './api';

/** A group WeCom lists for the member. */
export interface GroupCandidate {
  chatId: string;
  name: string | null;
  status: number;
  openTransfer: { id: string; newOwner: string; status: string } | null;
}

/** One group's outcome. */
export interface GroupOutcome {
  chatId: string;
  chatName: string | null;
  status: 'requested' | 'retrying' | 'done' | 'failed';
  errcode: number | null;
  message: string | null;
  alreadyRequested: boolean;
}

/** A chosen group with the member who owns it. */
export interface GroupPick {
  handover: string;
  chatId: string;
}

/** The member's groups a transfer of `kind` applies to. */
export async function groupCandidates(kind: 'onjob' | 'resigned', handover: string): Promise<GroupCandidate[]> {
  return (await get<{ items: GroupCandidate[] }>('/api/v1/group-transfers/candidates', { kind, handover })).items;
}

/** Hand the picked groups to `takeover`, one request per owner; every group's outcome, or the error of a request. */
export async function sendGroupTransfers(kind: 'onjob' | 'resigned', takeover: string, picks: GroupPick[]): Promise<{ items: GroupOutcome[]; errors: string[] }> {
  const byOwner = new Map<string, string[]>();
  for (const p of picks) byOwner.set(p.handover, [...(byOwner.get(p.handover) ?? []), p.chatId]);
  const items: GroupOutcome[] = [];
  const errors: string[] = [];
  for (const [handover, chats] of byOwner) {
    try {
      items.push(...(await post<{ items: GroupOutcome[] }>('/api/v1/group-transfers', { kind, handover, takeover, chats }, { idempotencyKey: newIdempotencyKey() })).items);
    } catch (e) {
      errors.push(e instanceof Error ? e.message : String(e));
    }
  }
  return { items, errors };
}

/** One line for a toast: how many groups went, and each failed one with its reason. */
export function groupSummary(r: { items: GroupOutcome[]; errors: string[] }): { text: string; isOk: boolean } {
  const done = r.items.filter((i) => i.status === 'done' && !i.alreadyRequested).length;
  const pending = r.items.filter((i) => (i.status === 'retrying' || i.status === 'requested') && !i.alreadyRequested).length;
  const already = r.items.filter((i) => i.alreadyRequested).length;
  const failed = r.items.filter((i) => i.status === 'failed' && !i.alreadyRequested);
  const parts = [`客户群：${done} 个已转交`];
  if (pending) parts.push(`${pending} 个将自动重试`);
  if (already) parts.push(`${already} 个已在转交中`);
  if (failed.length) parts.push(`${failed.length} 个失败（${failed.map((f) => `${f.chatName ?? '未同步的群'}：${f.message ?? ''}`).join('；')}）`);
  parts.push(...r.errors);
  return { text: parts.join('，'), isOk: failed.length === 0 && r.errors.length === 0 };
}
