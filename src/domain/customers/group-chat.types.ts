// Customer group chats as last read from WeCom.

/** A customer group and its members as groupchat/get reports them (docs/wecom-protocol.md §Customer groups). */
export interface GroupChatSnapshot {
  chatId: string;
  name: string;
  owner: string | null;
  createdAt: Date | null;
  members: { memberId: string; type: number; joinedAt: Date | null }[];
}
