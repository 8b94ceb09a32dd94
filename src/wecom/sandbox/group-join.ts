import { createHash } from 'node:crypto';
import { ConflictError, ForbiddenError, NotFoundError } from '../../shared/errors.js';
import type { SandboxGroupChat, SandboxJoinWay, SandboxStore } from './store.js';

/**
 * What a customer scanning a 群活码 does to the sandbox's world (docs/wecom-protocol.md §Group join ways): they join the
 * first listed group with room; when every listed group is full and the code may auto-create, a new room opens first,
 * named base name + next id, owned by the first group's owner, and is added to the code. Pure store logic; the sandbox
 * sends the callbacks.
 */

/** `JoinScene` / `join_scene` of a member who scanned a group QR code (docs/wecom-protocol.md §Customer groups). */
export const JOIN_SCENE_QR = 3;

/** The member-list version WeCom sends as LastMemVer/CurMemVer: changes whenever the member list does. */
export function memberVersion(chat: SandboxGroupChat): string {
  return createHash('md5').update(chat.members.map((m) => m.userid).join('|')).digest('hex');
}

/** What a scan did: the group joined, and the room opened for it if one was. */
export interface JoinOutcome {
  chat: SandboxGroupChat;
  openedRoom: SandboxGroupChat | null;
  lastMemVer: string;
  curMemVer: string;
}

/**
 * Put `memberId` into the code's first group with room (opening one when allowed). Refusals a person would see in
 * WeChat: an unknown code (deleted), already in one of its groups, every group full without auto-create.
 */
export function joinThroughWay(
  store: SandboxStore,
  input: { configId: string; memberId: string; name: string; nowS: number; roomFullSize: number },
): JoinOutcome {
  const way = store.joinWays.get(input.configId);
  if (!way) throw new NotFoundError('该群二维码已失效');
  const chats = way.chatIds.map((id) => store.groupChats.get(id)).filter((c): c is SandboxGroupChat => c !== undefined);
  if (chats.some((c) => c.members.some((m) => m.userid === input.memberId))) throw new ConflictError(`${input.memberId} 已在该群活码的群里`);
  let chat = chats.find((c) => c.members.length < input.roomFullSize);
  let openedRoom: SandboxGroupChat | null = null;
  if (!chat) {
    if (!way.autoCreateRoom || chats.length === 0) throw new ConflictError('群已满，该群活码未开启自动建群');
    openedRoom = openRoom(store, way, chats[0], input.nowS);
    chat = openedRoom;
  }
  const lastMemVer = memberVersion(chat);
  chat.members.push({
    userid: input.memberId,
    type: 2,
    joinTime: input.nowS,
    joinScene: JOIN_SCENE_QR,
    groupNickname: '',
    name: input.name,
    ...(way.state ? { state: way.state } : {}),
  });
  return { chat, openedRoom, lastMemVer, curMemVer: memberVersion(chat) };
}

/** A room the code opens by itself: named base name + next id, the first group's owner, added to the code. */
function openRoom(store: SandboxStore, way: SandboxJoinWay, first: SandboxGroupChat, nowS: number): SandboxGroupChat {
  const room: SandboxGroupChat = {
    chatId: store.newId('wr', 30),
    name: `${way.roomBaseName}${way.roomBaseId + way.roomsOpened}`,
    owner: first.owner,
    createTime: nowS,
    notice: '',
    status: 0,
    members: [{ userid: first.owner, type: 1, joinTime: nowS, joinScene: 0, groupNickname: '', name: store.staff.get(first.owner)?.name ?? first.owner }],
    admins: [],
  };
  way.roomsOpened += 1;
  way.chatIds.push(room.chatId);
  store.groupChats.set(room.chatId, room);
  // The owner's choice of welcome carries over: the sandbox treats the code's rooms as one group the owner set up once.
  const applied = store.groupWelcomeApplied.get(first.chatId);
  if (applied) store.groupWelcomeApplied.set(room.chatId, applied);
  return room;
}

/**
 * The owner (or a group admin) chooses a welcome template for their group in the WeCom client. Anyone else is refused,
 * as the client refuses them.
 */
export function applyWelcomeTemplate(store: SandboxStore, input: { userid: string; chatId: string; templateId: string }): void {
  const chat = store.groupChats.get(input.chatId);
  if (!chat) throw new NotFoundError(`group ${input.chatId} not found`);
  if (chat.owner !== input.userid && !chat.admins.includes(input.userid)) throw new ForbiddenError('只有群主或群管理员可以设置入群欢迎语');
  if (!store.groupWelcomeTemplates.has(input.templateId)) throw new NotFoundError(`group welcome template ${input.templateId} not found`);
  store.groupWelcomeApplied.set(input.chatId, input.templateId);
}

/** The group greets a joiner with the template its owner applied, if any: recorded so a test can read it. */
export function greetJoiner(store: SandboxStore, chatId: string, memberId: string, nickname: string, atMs: number): void {
  const templateId = store.groupWelcomeApplied.get(chatId);
  const template = templateId ? store.groupWelcomeTemplates.get(templateId) : undefined;
  if (!templateId || !template) return;
  const raw = (template.content.text as { content?: string } | undefined)?.content;
  // %NICKNAME% (case-sensitive) becomes the joiner's nickname (docs/wecom-protocol.md §Group welcome templates).
  store.groupWelcomeSent.push({ atMs, chatId, templateId, memberId, ...(raw ? { text: raw.replaceAll('%NICKNAME%', nickname) } : {}) });
}
