// What the 群活码 and 入群欢迎语 tabs read from the API (src/http/presenters/group-acquisition.presenter.ts), and the group
// list both tabs pick groups from.
import { get } from '../../lib/api';
import type { GroupCodeStatus } from '../../../../domain/groups/group-code.types';

/** A 群活码 as the API answers it. */
export interface GroupCode {
  id: string;
  name: string;
  state: string;
  configId: string | null;
  qrCode: string | null;
  chatIds: string[];
  autoCreateRoom: boolean;
  roomBaseName: string;
  roomBaseId: number;
  status: GroupCodeStatus;
  statusWords: string;
  lastError: string | null;
  createdAt: string;
}

/** A code's statistics over a range (GET /api/v1/group-codes/:id/daily). */
export interface GroupCodeDaily {
  from: string;
  to: string;
  days: { day: string; joins: number; leaves: number; net: number }[];
  byGroup: { chatId: string; name: string | null; joins: number; leaves: number; net: number; current: number }[];
  total: { joins: number; leaves: number; net: number };
}

/** A group welcome template as the API answers it. */
export interface GroupWelcome {
  id: string;
  name: string;
  templateId: string | null;
  text: string;
  attachments: { image?: { picUrl: string }; link?: { title: string; url: string; desc?: string; picUrl?: string }; miniprogram?: unknown; file?: unknown; video?: unknown };
  /** 素材库 items (docs/content.md §Composers). */
  contentIds?: string[];
  notify: boolean;
  status: 'pending' | 'active' | 'failed';
  statusWords: string;
  lastError: string | null;
  updatedAt: string;
}

/** A customer group to choose from. */
export interface GroupOption {
  chatId: string;
  name: string;
  owner: string | null;
  memberCount?: number;
}

/**
 * The groups in the archive (GET /api/v1/groups), for the pickers. When the archive's list cannot be read, the pickers
 * still take group ids typed in.
 */
export async function loadGroupOptions(): Promise<GroupOption[]> {
  try {
    const r = await get<{ items: GroupOption[] }>('/api/v1/groups', { pageSize: 100 });
    return r.items;
  } catch {
    return [];
  }
}

/** A group's name for a table cell: the archive's name, or its id when the archive does not know it yet. */
export function groupName(groups: GroupOption[], chatId: string, fallback?: string | null): string {
  return groups.find((g) => g.chatId === chatId)?.name || fallback || chatId;
}
