import type { WecomGateway } from '../../wecom/client/gateway.js';
import { invalidField } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';

/** media/uploadimg takes JPG or PNG of at most 2 MB (docs/wecom-protocol.md §Media). */
export const IMAGE_MAX_BYTES = 2 * 1024 * 1024;
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The image kinds WeCom's uploadimg accepts, told by their first bytes rather than by a name or a declared type. */
function imageKind(data: Buffer): 'png' | 'jpeg' | null {
  if (data.subarray(0, 8).equals(PNG_MAGIC)) return 'png';
  if (data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'jpeg';
  return null;
}

/**
 * An image for a broadcast's attachment, uploaded to WeCom for good: a temporary media_id lives 3 days
 * (docs/wecom-protocol.md §Media), too short for a broadcast scheduled later, so images go through media/uploadimg and
 * the attachment keeps its permanent URL (`picUrl`).
 */
export class BroadcastImageService {
  constructor(
    private readonly wecom: Pick<WecomGateway, 'uploadImage'>,
    private readonly log: Logger,
    /** The library's uploadimg budget (ContentMediaService.takeImageQuota): refuses with 429 when the day's or month's is spent. */
    private readonly takeImageQuota?: () => Promise<void>,
  ) {}

  /** 400 (field `data`) unless the bytes are a JPG or PNG of 6 bytes to 2 MB. */
  async upload(input: { filename: string; data: Buffer }): Promise<{ url: string; size: number }> {
    const kind = imageKind(input.data);
    if (!kind) throw invalidField('data', '仅支持 JPG 或 PNG 图片 / JPG or PNG only', 'unsupported_image');
    if (input.data.length <= 5 || input.data.length > IMAGE_MAX_BYTES) throw invalidField('data', '图片不能超过 2 MB / at most 2 MB', 'image_too_large');
    // The corp's 1,000 a day and 3,000 a month are shared with the library's images (docs/content.md §Media lifecycle).
    await this.takeImageQuota?.();
    const filename = /\.(png|jpe?g)$/i.test(input.filename) ? input.filename : `${input.filename || 'image'}.${kind === 'png' ? 'png' : 'jpg'}`;
    const { url } = await this.wecom.uploadImage({ filename, data: input.data, contentType: kind === 'png' ? 'image/png' : 'image/jpeg' });
    this.log.info({ size: input.data.length }, 'broadcast image uploaded');
    return { url, size: input.data.length };
  }
}
