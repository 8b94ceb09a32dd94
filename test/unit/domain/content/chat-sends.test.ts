import { describe, expect, it } from 'vitest';
import { ContentService, chatPage } from '../../../../src/domain/content/content.service.js';
import { ContentMediaService } from '../../../../src/domain/content/content-media.service.js';
import type { ContentRepository } from '../../../../src/persistence/repositories/content.repository.js';
import type { ContentItem } from '../../../../src/domain/content/content.types.js';
import type { ContentStorage } from '../../../../src/domain/content/storage/content-storage.js';
import { FixedClock } from '../../../../src/shared/clock.js';
import { silentLogger } from '../../../../src/shared/logger.js';

const H = 3600_000;

// docs/todo.md §One-tap send: attachments entered by hand (not from the library) go as stored when sendChatMessage can
// take them, and say why not otherwise; a mini-program's page gets the .html WeChat needs.
describe('ContentService.chatSends for attachments entered by hand', () => {
  const clock = new FixedClock('2026-12-07T02:00:00Z');
  const repo = { byIds: async () => new Map<string, ContentItem>() } as unknown as ContentRepository;
  const media = new ContentMediaService(repo, {} as ContentStorage, { uploadMedia: async () => ({}) as never, uploadImage: async () => ({}) as never }, clock, silentLogger, { timezone: 'Asia/Shanghai' });
  const svc = new ContentService(repo, {} as ContentStorage, media, clock, silentLogger, { maxBytes: 1e7, linkedAppIds: [], timezone: 'Asia/Shanghai' });

  it('sends a link, and media ids while the message is younger than their 3 days', async () => {
    const [sends] = await svc.chatSends([
      {
        preparedAt: new Date(clock.now().getTime() - 2 * 24 * H),
        attachments: [
          { kind: 'link', title: '指南', url: 'https://example.com/g' },
          { kind: 'image', mediaId: 'img-1' },
          { kind: 'file', mediaId: 'f-1' },
        ],
      },
    ]);
    expect(sends).toEqual([
      { label: '链接「指南」', chat: { msgtype: 'news', news: { link: 'https://example.com/g', title: '指南', desc: '', imgUrl: '' } }, problem: null },
      { label: '图片', chat: { msgtype: 'image', image: { mediaid: 'img-1' } }, problem: null },
      { label: '文件', chat: { msgtype: 'file', file: { mediaid: 'f-1' } }, problem: null },
    ]);
  });

  it('refuses, with the reason, what sendChatMessage cannot take or WeCom would refuse', async () => {
    const [sends] = await svc.chatSends([
      {
        // Made 3 days ago: its media ids are at least that old, so dead.
        preparedAt: new Date(clock.now().getTime() - 3 * 24 * H),
        attachments: [
          { kind: 'video', mediaId: 'v-1' },
          { kind: 'image', picUrl: 'https://wework.qpic.cn/x/0' },
          { kind: 'miniprogram', title: '商城', appId: 'wx0123456789abcdef', page: 'pages/i', picMediaId: 'm-1' },
        ],
      },
    ]);
    expect(sends.map((s) => [s.chat, s.problem])).toEqual([
      [null, '视频的企业微信临时素材已超过 3 天失效，请改用素材库中的素材'],
      [null, '图片只有链接，没有企业微信临时素材，聊天中不能发送，请改用素材库中的图片'],
      [null, '小程序「商城」的封面是临时素材，聊天中须用永久图片链接，请改用素材库中的小程序'],
    ]);
  });

  it("gives a mini-program's page the .html suffix once, keeping its query", () => {
    expect(chatPage('pages/index/index')).toBe('pages/index/index.html');
    expect(chatPage('pages/index/index.html')).toBe('pages/index/index.html');
    expect(chatPage('pages/item/index?id=7&from=chat')).toBe('pages/item/index.html?id=7&from=chat');
  });
});
