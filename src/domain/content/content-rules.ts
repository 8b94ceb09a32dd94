import { invalidField } from '../../shared/errors.js';
import type { ContentKind } from './content.types.js';

/** WeCom's cap on attachments of one welcome or mass message (docs/wecom-protocol.md §Mass messages). */
export const MAX_ATTACHMENTS = 9;

const MB = 1024 * 1024;

/**
 * What file each kind takes, by WeCom's rules for message attachments (docs/wecom-protocol.md §Media): images and
 * covers go through media/uploadimg (JPG or PNG, 2 MB), video through media/upload (MP4, 10 MB), files likewise
 * (20 MB). Everything must be over 5 bytes.
 */
export const FILE_RULES: Record<Exclude<ContentKind, 'text'>, { types: string[] | null; maxBytes: number; what: string; typeWords: string }> = {
  image: { types: ['image/jpeg', 'image/png'], maxBytes: 2 * MB, what: '图片', typeWords: 'JPG 或 PNG' },
  link: { types: ['image/jpeg', 'image/png'], maxBytes: 2 * MB, what: '链接封面', typeWords: 'JPG 或 PNG' },
  miniprogram: { types: ['image/jpeg', 'image/png'], maxBytes: 2 * MB, what: '小程序封面', typeWords: 'JPG 或 PNG' },
  video: { types: ['video/mp4'], maxBytes: 10 * MB, what: '视频', typeWords: 'MP4' },
  file: { types: null, maxBytes: 20 * MB, what: '文件', typeWords: '任意类型' },
};

/** Bytes as people read them: 2 MB, 512 KB. */
export function sizeWords(bytes: number): string {
  if (bytes >= MB) return `${Number((bytes / MB).toFixed(1))} MB`;
  if (bytes >= 1024) return `${Number((bytes / 1024).toFixed(1))} KB`;
  return `${bytes} 字节`;
}

/**
 * Refuse a file the kind cannot carry, with the limit in the message (400, field `file`). `configMax` is the
 * deployment's own cap (CONTENT_MAX_BYTES), which may be lower than WeCom's.
 */
export function checkFile(kind: Exclude<ContentKind, 'text'>, sniffedType: string | null, size: number, configMax: number): void {
  const rule = FILE_RULES[kind];
  if (rule.types && (!sniffedType || !rule.types.includes(sniffedType))) {
    throw invalidField('file', `${rule.what}仅支持 ${rule.typeWords} 格式（企业微信附件规则），该文件是 ${sniffedType ?? '无法识别的格式'}`, 'content_file_type');
  }
  if (size <= 5) throw invalidField('file', `${rule.what}必须大于 5 字节（企业微信附件规则）`, 'content_file_too_small');
  const max = Math.min(rule.maxBytes, configMax);
  if (size > max) {
    const whose = max < rule.maxBytes ? '本系统配置 CONTENT_MAX_BYTES 的上限' : '企业微信附件规则';
    throw invalidField('file', `${rule.what}不能超过 ${sizeWords(max)}（${whose}），该文件 ${sizeWords(size)}`, 'content_file_too_large');
  }
}
