import type { EntityManager } from 'typeorm';
import type { Logger } from '../../shared/logger.js';
import type { InboundEvent } from './inbox.types.js';

/** What a handler may say about the event's timeline entry. */
export interface TimelineNote {
  externalUserId?: string | null;
  staffUserid?: string | null;
  kind?: string;
  summary?: string;
  data?: Record<string, unknown>;
  /**
   * The handler wrote this event's timeline entry itself under its own source (e.g. a customer transfer, whose job
   * and callbacks share one entry), so the inbox adds none.
   */
  isSilent?: boolean;
  /**
   * The handler's own writes, run in the transaction that finishes the event (after the lease check), so a handled
   * event costs one transaction, not two, and its effects commit with its `done` (docs/inbox.md §Cheap handlers). Use
   * only `em` inside. If the lease was lost they do not run: the worker that took the event over handles it whole.
   */
  inFinish?: (em: EntityManager) => Promise<void>;
}

/** Context handed to a handler. */
export interface HandlerContext {
  log: Logger;
  now: Date;
}

/**
 * A handler for one or more event kinds. Handlers must be idempotent: an event can run again after a crash or a
 * lost lease, and replaying it must change nothing. Throwing means "retry later".
 */
export interface EventHandler {
  readonly name: string;
  /** Kinds like `event/change_external_contact/add_external_contact`, `event/change_external_tag/*` or `text`. */
  readonly kinds: readonly string[];
  /**
   * The part of the handling that races a WeCom deadline, run first when the event is claimed from the priority
   * lane (docs/inbox.md §Deadline first). What it returns is kept with the event, sealed like its payload, and handed
   * to `handle` (`deferredState`), which then runs when the event's turn comes in the ordinary lane. Returning nothing
   * means there was nothing urgent to do, and `handle` runs at once. Must be idempotent, like `handle`.
   */
  handleUrgent?(event: InboundEvent, ctx: HandlerContext): Promise<unknown>;
  handle(event: InboundEvent, ctx: HandlerContext): Promise<TimelineNote | void>;
}

/** Routes events by MsgType / Event / ChangeType, most specific match first. */
export class EventRouter {
  private readonly routes = new Map<string, EventHandler[]>();

  /** Register a handler for its kinds. Several handlers may share a kind; they run in registration order. */
  register(handler: EventHandler): this {
    for (const kind of handler.kinds) {
      const list = this.routes.get(kind) ?? [];
      list.push(handler);
      this.routes.set(kind, list);
    }
    return this;
  }

  /**
   * Handlers for a kind: exact (`a/b/c`) first, then wildcards from the most specific (`a/b/*`, `a/*`).
   * An empty list means the event is unknown: kept and marked ignored, not an error.
   */
  resolve(kind: string): EventHandler[] {
    const parts = kind.split('/');
    const found: EventHandler[] = [...(this.routes.get(kind) ?? [])];
    for (let i = parts.length - 1; i >= 1; i--) {
      for (const h of this.routes.get(`${parts.slice(0, i).join('/')}/*`) ?? []) if (!found.includes(h)) found.push(h);
    }
    return found;
  }
}

/** Chinese labels for the timeline, by kind. */
export const KIND_LABELS: Record<string, string> = {
  'event/change_external_contact/add_external_contact': '添加了客户',
  'event/change_external_contact/add_half_external_contact': '客户添加（待通过）',
  'event/change_external_contact/edit_external_contact': '编辑了客户资料或标签',
  'event/change_external_contact/del_external_contact': '员工删除了客户',
  'event/change_external_contact/del_follow_user': '客户删除了员工',
  'event/change_external_contact/transfer_fail': '客户转接失败',
  'event/change_contact/create_user': '新增成员（通讯录）',
  'event/change_contact/update_user': '成员信息变更（通讯录）',
  'event/change_contact/delete_user': '成员离职（通讯录）',
  'event/change_external_chat/create': '创建客户群',
  'event/change_external_chat/update': '客户群变更',
  'event/change_external_chat/dismiss': '解散客户群',
  'event/kf_msg_or_event': '微信客服消息',
  text: '应用消息',
};
