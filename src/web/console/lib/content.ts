// 素材库: the item shape the console reads (the API's presenter, src/http/presenters/content.presenter.ts).
import type { ContentKind } from '../../../domain/content/content.types';

export interface ContentRow {
  id: string;
  kind: ContentKind;
  kindWords: string;
  group: string;
  title: string;
  text: string | null;
  url: string | null;
  appId: string | null;
  page: string | null;
  tags: string[];
  quickReply: boolean;
  sort: number;
  file: { name: string; type: string; size: number } | null;
  fileUrl: string | null;
  picUrl: string | null;
  mediaReady: boolean;
  mediaStatus: string;
  useCount: number;
  lastUsedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ContentFacets {
  groups: { name: string; count: number }[];
  tags: { name: string; count: number }[];
  imageQuota: { day: number; month: number; dayLimit: number; monthLimit: number };
}

/** The kinds in the order the form offers them, with what each one needs. */
export const KINDS: { value: ContentKind; text: string; file: 'required' | 'optional' | 'none'; fileHint: string }[] = [
  { value: 'text', text: '文字', file: 'none', fileHint: '' },
  { value: 'image', text: '图片', file: 'required', fileHint: 'JPG 或 PNG，至多 2 MB' },
  { value: 'link', text: '链接', file: 'optional', fileHint: '封面：JPG 或 PNG，至多 2 MB（可不传）' },
  { value: 'miniprogram', text: '小程序', file: 'required', fileHint: '封面：JPG 或 PNG，至多 2 MB，建议 520×416' },
  { value: 'file', text: '文件', file: 'required', fileHint: '任意类型，至多 20 MB' },
  { value: 'video', text: '视频', file: 'required', fileHint: 'MP4，至多 10 MB' },
];

/** A thumbnail can be shown for these: the image itself, or a link's or card's cover. */
export function hasPicture(r: Pick<ContentRow, 'kind' | 'file'>): boolean {
  return r.file !== null && (r.kind === 'image' || r.kind === 'link' || r.kind === 'miniprogram');
}

/** Bytes as people read them. */
export function sizeText(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} 字节`;
}
