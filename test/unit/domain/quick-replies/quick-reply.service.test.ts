import { describe, expect, it } from 'vitest';
import { QuickReplyService, quickReplyInput } from '../../../../src/domain/quick-replies/quick-reply.service.js';
import type { ContentItem } from '../../../../src/domain/content/content.types.js';
import type { Customer } from '../../../../src/domain/customers/customer.types.js';
import { NotFoundError } from '../../../../src/shared/errors.js';

const reply = (text: string, over: Partial<ContentItem> = {}): ContentItem => ({
  id: 'r1', seedKey: null, kind: 'text', group: '问候', title: '问候', text, url: null, appId: null, page: null, tags: [], quickReply: true, sort: 0,
  file: null, picUrl: null, mediaId: null, mediaUploadedAt: null, mediaError: null, useCount: 0, lastUsedAt: null, createdBy: null,
  createdAt: new Date(0), updatedAt: new Date(0), ...over,
});

function build(replies: ContentItem[], customers: Record<string, { name: string; owners: string[] }>) {
  const library = {
    list: async () => ({ items: replies, total: replies.length }),
    chatMessage: (_item: ContentItem, content: string) => ({ msgtype: 'text' as const, text: { content } }),
  } as unknown as ConstructorParameters<typeof QuickReplyService>[0];
  const customerService = {
    async getVisible(ext: string, viewer: { role: string; userid: string | null }) {
      const c = customers[ext];
      // The archive's rule: staff see only customers they follow (404 otherwise).
      if (!c || (viewer.role === 'staff' && !c.owners.includes(viewer.userid ?? ''))) throw new NotFoundError('客户不存在', 'customer_not_found');
      return { externalUserId: ext, name: c.name } as Customer;
    },
  };
  const staff = { displayName: async (userid: string) => (userid === 'zhangsan' ? '张三' : userid) };
  return new QuickReplyService(library, customerService, staff);
}

describe(QuickReplyService.name, () => {
  describe('listRendered', () => {
    const staffViewer = { role: 'staff' as const, userid: 'zhangsan' };

    it('renders {{name}} as the customer and {{staff}} as the viewer', async () => {
      const sut = build([reply('{{name}}您好，我是{{staff}}')], { wm1: { name: '王女士', owners: ['zhangsan'] } });
      const [r] = await sut.listRendered('wm1', staffViewer);
      expect(r.content).toBe('王女士您好，我是张三');
      expect(r.chat).toEqual({ msgtype: 'text', text: { content: '王女士您好，我是张三' } });
      expect(r.reply.text).toBe('{{name}}您好，我是{{staff}}');
    });

    it('never re-scans substituted values: a customer named {{staff}} renders literally', async () => {
      const sut = build([reply('{{name}}，您好')], { wm1: { name: '{{staff}}', owners: ['zhangsan'] } });
      expect((await sut.listRendered('wm1', staffViewer))[0].content).toBe('{{staff}}，您好');
    });

    it('leaves {{name}} empty without a customer, and refuses a customer the viewer does not follow', async () => {
      const sut = build([reply('{{name}}您好')], { wm2: { name: '赵先生', owners: ['lisi'] } });
      expect((await sut.listRendered(undefined, staffViewer))[0].content).toBe('您好');
      await expect(sut.listRendered('wm2', staffViewer)).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe('quickReplyInput', () => {
    it('defaults category and sort and refuses text over WeCom’s 4000 bytes', () => {
      expect(quickReplyInput.parse({ title: '问候', text: '您好' })).toEqual({ category: '常用', title: '问候', text: '您好', sort: 0 });
      expect(quickReplyInput.safeParse({ title: 't', text: '好'.repeat(1334) }).success).toBe(false);
      expect(quickReplyInput.safeParse({ title: 't', text: '好'.repeat(1333) }).success).toBe(true);
      expect(quickReplyInput.safeParse({ title: 't', text: 'x', extra: 1 }).success).toBe(false);
    });
  });
});
