import jsqr from 'jsqr';
import { PNG } from 'pngjs';

// jsqr is a UMD bundle: under NodeNext its default import is module.exports, whose `default` is the decoder.
const jsQR = jsqr.default;

/** Read a QR code PNG back: its size and the text it encodes (null when no QR code is found in it). */
export function decodeQrPng(png: Buffer): { width: number; height: number; text: string | null } {
  const img = PNG.sync.read(png);
  const found = jsQR(new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length), img.width, img.height);
  return { width: img.width, height: img.height, text: found?.data ?? null };
}
