import { createDecipheriv, timingSafeEqual } from 'node:crypto';
import { encrypt as wecomEncrypt, getSignature } from '@wecom/crypto';

/** Why a callback failed verification; each becomes a `wecom_callback_rejected_total{reason}` label. */
export type CryptoFailure =
  | 'missing_signature'
  | 'bad_signature'
  | 'bad_ciphertext'
  | 'bad_padding'
  | 'bad_length'
  | 'wrong_receive_id';

export class CallbackCryptoError extends Error {
  constructor(
    readonly reason: CryptoFailure,
    message: string,
  ) {
    super(message);
    this.name = 'CallbackCryptoError';
  }
}

export interface CallbackCredentials {
  token: string;
  encodingAesKey: string;
  /** The expected receive id: the CorpID for a self-built app (docs/wecom-protocol.md §Where callbacks come from). */
  receiveId: string;
  /**
   * A second Token/EncodingAESKey pair accepted alongside the first while the app's 接收消息 settings are being
   * changed. WeCom checks a new pair with a GET to the URL when the admin saves it and refuses to save if that
   * fails (docs/wecom-protocol.md §URL verification), so the server must accept the new pair before the save and the
   * old one until it.
   */
  next?: { token: string; encodingAesKey: string };
}

/**
 * AESKey = base64(EncodingAESKey + "="), 32 bytes; IV = its first 16 bytes
 * (docs/wecom-protocol.md §Callback encryption and signatures).
 */
function aesKey(encodingAesKey: string): Buffer {
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  if (key.length !== 32) throw new Error('EncodingAESKey must decode to 32 bytes');
  return key;
}

/**
 * sha1 of the sorted [token, timestamp, nonce, encrypt], lower-case hex
 * (docs/wecom-protocol.md §Callback encryption and signatures).
 */
export function signCallback(token: string, timestamp: string, nonce: string, encrypt: string): string {
  return getSignature(token, timestamp, nonce, encrypt);
}

/** Verify msg_signature in constant time. The signature covers the ciphertext, so this runs before any decryption. */
export function verifySignature(
  token: string,
  timestamp: string | undefined,
  nonce: string | undefined,
  encrypt: string,
  signature: string | undefined,
): void {
  if (!signature || timestamp === undefined || nonce === undefined) {
    throw new CallbackCryptoError('missing_signature', 'msg_signature, timestamp or nonce is missing');
  }
  const expected = Buffer.from(signCallback(token, timestamp, nonce, encrypt), 'utf8');
  const given = Buffer.from(signature.toLowerCase(), 'utf8');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new CallbackCryptoError('bad_signature', 'msg_signature does not match');
  }
}

/**
 * Decrypt a WeCom ciphertext: AES-256-CBC, PKCS#7 padded to 32-byte blocks,
 * plaintext = random(16) ‖ msg_len(4, big-endian, bytes) ‖ msg ‖ receiveid
 * (docs/wecom-protocol.md §Callback encryption and signatures).
 *
 * @wecom/crypto's decrypt() silently keeps a pad byte outside 1..32, does not bound the length prefix and
 * does not check the receive id, so this does the decipher itself and checks all three.
 */
export function decryptMessage(encodingAesKey: string, encrypt: string, expectedReceiveId: string): { message: string; random: Buffer } {
  const key = aesKey(encodingAesKey);
  const cipherText = Buffer.from(encrypt, 'base64');
  // A 32-byte padded plaintext always gives a whole number of 32-byte blocks; anything else is not WeCom's.
  if (cipherText.length === 0 || cipherText.length % 32 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(encrypt)) {
    throw new CallbackCryptoError('bad_ciphertext', 'ciphertext is not base64 of whole 32-byte blocks');
  }
  const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
  decipher.setAutoPadding(false); // Node's PKCS#7 is 16-byte; WeCom pads to 32 (docs/wecom-protocol.md §Callback encryption and signatures).
  const plain = Buffer.concat([decipher.update(cipherText), decipher.final()]);
  const pad = plain[plain.length - 1];
  if (pad < 1 || pad > 32 || !plain.subarray(plain.length - pad).every((b) => b === pad)) {
    throw new CallbackCryptoError('bad_padding', 'PKCS#7 padding is not in 1..32');
  }
  const body = plain.subarray(0, plain.length - pad);
  if (body.length < 20) throw new CallbackCryptoError('bad_length', 'plaintext shorter than its header');
  const msgLen = body.readUInt32BE(16);
  if (20 + msgLen > body.length) throw new CallbackCryptoError('bad_length', 'length prefix exceeds the plaintext');
  const receiveId = body.subarray(20 + msgLen).toString('utf8');
  if (receiveId !== expectedReceiveId) {
    throw new CallbackCryptoError('wrong_receive_id', 'receive id does not match WECOM_CORP_ID');
  }
  return { message: body.subarray(20, 20 + msgLen).toString('utf8'), random: body.subarray(0, 16) };
}

/** Encrypt like WeCom does (used by the sandbox and for passive replies). */
export function encryptMessage(encodingAesKey: string, message: string, receiveId: string, random?: Buffer): string {
  return wecomEncrypt(encodingAesKey, message, receiveId, random);
}

/** Verify then decrypt one callback payload. */
export function openCallback(
  creds: CallbackCredentials,
  q: { signature?: string; timestamp?: string; nonce?: string },
  encrypt: string,
): string {
  verifySignature(creds.token, q.timestamp, q.nonce, encrypt, q.signature);
  return decryptMessage(creds.encodingAesKey, encrypt, creds.receiveId).message;
}

/** Encrypt and sign a payload the way WeCom would post it, returning the query and XML body. */
export function sealCallback(
  creds: CallbackCredentials,
  plainXml: string,
  opts: { timestamp?: string; nonce?: string; random?: Buffer } = {},
): { query: { msg_signature: string; timestamp: string; nonce: string }; body: string; encrypt: string } {
  const timestamp = opts.timestamp ?? String(Math.floor(Date.now() / 1000));
  const nonce = opts.nonce ?? String(Math.floor(Math.random() * 1e10));
  const encrypt = encryptMessage(creds.encodingAesKey, plainXml, creds.receiveId, opts.random);
  const signature = signCallback(creds.token, timestamp, nonce, encrypt);
  const body = `<xml><ToUserName><![CDATA[${creds.receiveId}]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>`;
  return { query: { msg_signature: signature, timestamp, nonce }, body, encrypt };
}
