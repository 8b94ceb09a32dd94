import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** The XML could not be parsed, or is not shaped like a WeCom message. */
export class XmlParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlParseError';
  }
}

/** A parsed WeCom XML document: every leaf is a string (MsgId is 64-bit, reference §2.6), lists stay arrays. */
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
  // CDATA and bare text both land as the element's text (reference §2.1).
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

/** Read a leaf as a string, or undefined when absent or not a leaf. */
export function xmlText(obj: XmlObject, key: string): string | undefined {
  const v = obj[key];
  return typeof v === 'string' ? v : undefined;
}

/** Read `<Key><Item>a</Item><Item>b</Item></Key>` as ['a', 'b'] (e.g. MemChangeList, reference §2.3). */
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
