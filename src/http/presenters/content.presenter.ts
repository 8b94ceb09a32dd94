import type { ContentItem } from '../../domain/content/content.types.js';

const KIND_WORDS: Record<ContentItem['kind'], string> = { text: '文字', image: '图片', link: '链接', miniprogram: '小程序', file: '文件', video: '视频' };

/**
 * A library item for the console and the API. `mediaStatus` says in words whether WeCom has what its messages need
 * (docs/content.md §Media lifecycle); the file itself is at `fileUrl`.
 */
export function presentContent(c: ContentItem, now: Date, fresh: (c: ContentItem, at: Date) => boolean) {
  const needsPic = c.file !== null && ['image', 'link', 'miniprogram'].includes(c.kind);
  const needsMedia = c.file !== null && (['file', 'video', 'miniprogram'].includes(c.kind) || (c.kind === 'image' && c.quickReply));
  const ready = (!needsPic || c.picUrl !== null) && (!needsMedia || (c.mediaId !== null && fresh(c, now)));
  return {
    id: c.id,
    kind: c.kind,
    kindWords: KIND_WORDS[c.kind],
    group: c.group,
    title: c.title,
    text: c.text,
    url: c.url,
    appId: c.appId,
    page: c.page,
    tags: c.tags,
    quickReply: c.quickReply,
    sort: c.sort,
    file: c.file ? { name: c.file.name, type: c.file.type, size: c.file.size } : null,
    fileUrl: c.file ? `/api/v1/content/${c.id}/file` : null,
    picUrl: c.picUrl,
    mediaUploadedAt: c.mediaUploadedAt?.toISOString() ?? null,
    mediaReady: ready,
    mediaStatus: !needsPic && !needsMedia ? '无需上传' : ready ? '已上传企业微信' : c.mediaError ? `上传失败，将自动重试：${c.mediaError}` : '等待上传企业微信',
    useCount: c.useCount,
    lastUsedAt: c.lastUsedAt?.toISOString() ?? null,
    createdBy: c.createdBy,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}
