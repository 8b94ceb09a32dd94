import type { ApiContext, ApiTable } from '../api-types.js';
import { Errcode, SandboxApiError } from '../errcodes.js';
import { byteLength, optionalInt, optionalObject, optionalString, requireString } from '../params.js';
import { MEDIA_TTL_MS } from './contact-ways.api.js';

/** A corp holds at most 100 group welcome templates (docs/wecom-protocol.md §Group welcome templates). */
export const GROUP_WELCOME_TEMPLATE_LIMIT = 100;
/** text.content of a group welcome template: at most 3000 bytes (docs/wecom-protocol.md §Group welcome templates). */
export const GROUP_WELCOME_TEXT_MAX_BYTES = 3000;

const KINDS = ['text', 'image', 'link', 'miniprogram', 'file', 'video'] as const;

function assertMaxBytes(value: unknown, max: number, field: string): void {
  if (typeof value === 'string' && byteLength(value) > max) throw new SandboxApiError(Errcode.InvalidParameterValue, `${field} exceeds ${max} bytes`);
}

function requireField(obj: Record<string, unknown>, key: string, kind: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v === '') throw new SandboxApiError(Errcode.ParameterEmpty, `${kind}.${key} is required`);
  return v;
}

/** A media id must come from media/upload and be under 3 days old (docs/wecom-protocol.md §Media, 40007). */
function requireLiveMedia(ctx: ApiContext, mediaId: string): void {
  const media = ctx.store.media.get(mediaId);
  if (!media || ctx.nowMs() - media.createdAtMs > MEDIA_TTL_MS) throw new SandboxApiError(Errcode.InvalidMediaId, mediaId);
}

/**
 * The content fields of add/edit (docs/wecom-protocol.md §Group welcome templates): one object per kind, so at most one
 * attachment of each kind by construction; text ≤ 3000 bytes; the required fields of each kind. Only the kinds present
 * are returned (edit replaces those).
 */
function readContent(ctx: ApiContext, body: Record<string, unknown>): Record<string, unknown> {
  const content: Record<string, unknown> = {};
  for (const kind of KINDS) {
    const obj = optionalObject(body, kind);
    if (!obj) continue;
    if (kind === 'text') {
      const text = optionalString(obj, 'content') ?? '';
      assertMaxBytes(text, GROUP_WELCOME_TEXT_MAX_BYTES, 'text.content');
      if (text) content.text = { content: text };
      continue;
    }
    if (kind === 'image') {
      const mediaId = optionalString(obj, 'media_id');
      const picUrl = optionalString(obj, 'pic_url');
      if (!mediaId && !picUrl) throw new SandboxApiError(Errcode.ParameterEmpty, 'image needs media_id or pic_url');
      if (mediaId) requireLiveMedia(ctx, mediaId);
    } else if (kind === 'link') {
      assertMaxBytes(requireField(obj, 'title', kind), 128, 'link.title');
      requireField(obj, 'url', kind);
      assertMaxBytes(obj.desc, 512, 'link.desc');
    } else if (kind === 'miniprogram') {
      assertMaxBytes(requireField(obj, 'title', kind), 64, 'miniprogram.title');
      requireLiveMedia(ctx, requireField(obj, 'pic_media_id', kind));
      requireField(obj, 'appid', kind);
      requireField(obj, 'page', kind);
    } else {
      requireLiveMedia(ctx, requireField(obj, 'media_id', kind));
    }
    content[kind] = { ...obj };
  }
  return content;
}

/** 入群欢迎语素材管理 (docs/wecom-protocol.md §Group welcome templates). */
export const groupWelcomeApis: ApiTable = {
  'externalcontact/group_welcome_template/add': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const content = readContent(ctx, req.body);
      if (Object.keys(content).length === 0) throw new SandboxApiError(Errcode.ParameterEmpty, 'text and every attachment are empty');
      if (ctx.store.groupWelcomeTemplates.size >= GROUP_WELCOME_TEMPLATE_LIMIT) {
        // WeCom documents the limit but no code of its own for it: the general parameter code.
        throw new SandboxApiError(Errcode.InvalidParameterValue, `at most ${GROUP_WELCOME_TEMPLATE_LIMIT} group welcome templates`);
      }
      const notify = optionalInt(req.body, 'notify') ?? 1;
      if (notify !== 0 && notify !== 1) throw new SandboxApiError(Errcode.InvalidParameterValue, 'notify must be 0 or 1');
      const templateId = ctx.store.newId('msg', 24);
      ctx.store.groupWelcomeTemplates.set(templateId, { templateId, content, notify: notify === 1, createdAtMs: ctx.nowMs() });
      return { template_id: templateId };
    },
  },

  'externalcontact/group_welcome_template/edit': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const templateId = requireString(req.body, 'template_id');
      const template = ctx.store.groupWelcomeTemplates.get(templateId);
      if (!template) throw new SandboxApiError(Errcode.InvalidParameterValue, 'invalid template_id');
      const changes = readContent(ctx, req.body);
      // A text object with empty content clears the text; the others replace what is there.
      const next = { ...template.content, ...changes };
      const text = (req.body.text as { content?: unknown } | undefined)?.content;
      if (req.body.text !== undefined && !text) delete next.text;
      if (Object.keys(next).length === 0) throw new SandboxApiError(Errcode.ParameterEmpty, 'text and every attachment are empty');
      template.content = next;
      return {};
    },
  },

  'externalcontact/group_welcome_template/get': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const templateId = requireString(req.body, 'template_id');
      const template = ctx.store.groupWelcomeTemplates.get(templateId);
      if (!template) throw new SandboxApiError(Errcode.InvalidParameterValue, 'invalid template_id');
      return { ...structuredClone(template.content) };
    },
  },

  'externalcontact/group_welcome_template/del': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const templateId = requireString(req.body, 'template_id');
      if (!ctx.store.groupWelcomeTemplates.delete(templateId)) throw new SandboxApiError(Errcode.InvalidParameterValue, 'invalid template_id');
      // Groups that used it greet nobody any more.
      for (const [chatId, applied] of ctx.store.groupWelcomeApplied) if (applied === templateId) ctx.store.groupWelcomeApplied.delete(chatId);
      return {};
    },
  },
};
