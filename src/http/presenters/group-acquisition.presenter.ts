import type { GroupCode, GroupWelcomeTemplate } from '../../domain/groups/group-code.types.js';

/** How a code's state reads on screen (no raw enum values). */
const CODE_STATUS_WORDS: Record<GroupCode['status'], string> = { pending: '创建中', active: '使用中', failed: '创建失败，待重试', deleted: '已删除' };
const WELCOME_STATUS_WORDS: Record<GroupWelcomeTemplate['status'], string> = { pending: '创建中', active: '已加入素材库', failed: '创建失败，待重试' };

/** A 群活码. */
export function presentGroupCode(c: GroupCode) {
  return {
    id: c.id,
    name: c.name,
    state: c.state,
    configId: c.configId,
    qrCode: c.qrCode,
    chatIds: c.chatIds,
    autoCreateRoom: c.autoCreateRoom,
    roomBaseName: c.roomBaseName,
    roomBaseId: c.roomBaseId,
    status: c.status,
    statusWords: CODE_STATUS_WORDS[c.status],
    lastError: c.lastError,
    chatsSyncedAt: c.chatsSyncedAt?.toISOString() ?? null,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

/** A group welcome template. */
export function presentGroupWelcome(t: GroupWelcomeTemplate) {
  return {
    id: t.id,
    name: t.name,
    templateId: t.templateId,
    text: t.text,
    attachments: t.attachments,
    contentIds: t.contentIds,
    notify: t.notify,
    status: t.status,
    statusWords: WELCOME_STATUS_WORDS[t.status],
    lastError: t.lastError,
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
  };
}
