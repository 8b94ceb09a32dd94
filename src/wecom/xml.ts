import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** The XML could not be parsed, or is not shaped like a WeCom message. */
export class XmlParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlParseError';
  }
}

/**
 * A parsed WeCom XML document: every leaf is a string (MsgId is 64-bit,
 * docs/wecom-protocol.md §App messages from members), lists stay arrays.
 */
export type XmlObject = { [key: string]: string | XmlObject | Array<string | XmlObject> };

const parser = new XMLParser({
  // Keep every value a string: MsgId and ids exceed Number.MAX_SAFE_INTEGER, and "0123" must stay "0123".
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  trimValues: true,
  // Only the five built-in XML entities are decoded; documents with a DTD are rejected before parsing.
  processEntities: true,
  htmlEntities: false,
  // CDATA and bare text both land as the element's text (docs/wecom-protocol.md §Event XML).
  cdataPropName: false,
});

/** Parse a WeCom XML document and return the children of its <xml> root. No DTD, no entity expansion beyond &lt; etc. */
export function parseWecomXml(text: string): XmlObject {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new XmlParseError('DTDs and entity declarations are not accepted');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new XmlParseError(`malformed XML: ${valid.err.msg}`);
  const doc = parser.parse(text) as Record<string, unknown>;
  const root = doc.xml;
  if (typeof root !== 'object' || root === null || Array.isArray(root)) throw new XmlParseError('root element <xml> is missing');
  return root as XmlObject;
}

const ENVELOPE = /^\s*(?:<\?xml[^>]*\?>\s*)?<xml>([\s\S]*)<\/xml>\s*$/;
const ENCRYPT = /<Encrypt>\s*(?:<!\[CDATA\[([A-Za-z0-9+/=]+)\]\]>|([A-Za-z0-9+/=]+))\s*<\/Encrypt>/g;

/**
 * The `<Encrypt>` of a callback envelope (docs/wecom-protocol.md §Callback encryption and signatures), read without a
 * general XML parse. Nothing else in the envelope is trusted: the signature covers Encrypt alone
 * (docs/wecom-protocol.md §Callback encryption and signatures) and ToUserName/AgentID come again, authenticated, inside
 * the decrypted message. So the envelope only needs to yield exactly one base64 Encrypt inside one <xml> root; a parse
 * costing as much as the decryption bought nothing (a sixth of the CPU per callback). The decrypted message still goes
 * through parseWecomXml.
 */
export function extractEncrypt(body: string): string {
  if (/<!DOCTYPE|<!ENTITY/i.test(body)) throw new XmlParseError('DTDs and entity declarations are not accepted');
  const root = ENVELOPE.exec(body);
  if (!root) throw new XmlParseError('the envelope is not a single <xml> element');
  const found = [...root[1].matchAll(ENCRYPT)];
  const mentions = root[1].split('<Encrypt>').length - 1;
  if (found.length !== 1 || mentions !== 1) {
    throw new XmlParseError(mentions === 0 ? 'envelope has no <Encrypt>' : 'envelope needs exactly one base64 <Encrypt>');
  }
  return found[0][1] ?? found[0][2];
}

/**
 * Read `<Key><Item>a</Item><Item>b</Item></Key>` as ['a', 'b'] (e.g. MemChangeList,
 * docs/wecom-protocol.md §Customer group events).
 */
export function xmlItems(obj: XmlObject, key: string): string[] {
  const v = obj[key];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return [];
  const items = (v as XmlObject).Item;
  if (items === undefined) return [];
  return (Array.isArray(items) ? items : [items]).filter((i): i is string => typeof i === 'string');
}

/** Flatten a parsed message into string fields (nested lists kept as arrays) for storage and handlers. */
export function flattenMessage(obj: XmlObject): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v === 'string') out[k] = v;
    else if (!Array.isArray(v) && 'Item' in v) out[k] = xmlItems(obj, k);
  }
  return out;
}
