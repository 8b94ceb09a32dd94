import { describe, expect, it } from 'vitest';
import { XMLParser } from 'fast-xml-parser';
import { extractEncrypt, parseWecomXml, XmlParseError } from '../../../src/wecom/xml.js';
import { OFFICIAL } from '../../fixtures/official-vectors.js';

const B64 = 'RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS';

describe(extractEncrypt.name, () => {
  it('reads the official POST vector envelope like a full XML parse does', () => {
    const viaParser = (new XMLParser({ parseTagValue: false }).parse(OFFICIAL.post.body) as { xml: { Encrypt: string } }).xml.Encrypt;
    expect(extractEncrypt(OFFICIAL.post.body)).toBe(viaParser);
  });

  it.each([
    ['CDATA between siblings', `<xml><ToUserName><![CDATA[ww1]]></ToUserName><Encrypt><![CDATA[${B64}]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>`],
    ['bare text', `<xml><ToUserName>ww1</ToUserName><Encrypt>${B64}</Encrypt></xml>`],
    ['declaration, newlines and indentation', `<?xml version="1.0" encoding="UTF-8"?>\n<xml>\n  <Encrypt>\n    <![CDATA[${B64}]]>\n  </Encrypt>\n</xml>\n`],
  ])('accepts %s', (_name, body) => {
    expect(extractEncrypt(body)).toBe(B64);
  });

  it.each([
    ['not XML', 'not xml at all'],
    ['no <Encrypt>', '<xml><ToUserName>ww1</ToUserName></xml>'],
    ['two <Encrypt>', `<xml><Encrypt>${B64}</Encrypt><Encrypt>QUJD</Encrypt></xml>`],
    ['a non-base64 <Encrypt>', '<xml><Encrypt><![CDATA[abc<def]]></Encrypt></xml>'],
    ['an empty <Encrypt>', '<xml><Encrypt></Encrypt></xml>'],
    ['text after the root', `<xml><Encrypt>${B64}</Encrypt></xml><xml><Encrypt>QUJD</Encrypt></xml>`],
    ['a DTD', `<!DOCTYPE xml [<!ENTITY e "x">]><xml><Encrypt>${B64}</Encrypt></xml>`],
    ['a root other than <xml>', `<doc><Encrypt>${B64}</Encrypt></doc>`],
  ])('refuses %s', (_name, body) => {
    expect(() => extractEncrypt(body)).toThrow(XmlParseError);
  });
});

describe(parseWecomXml.name, () => {
  it('keeps 64-bit ids as strings and reads CDATA and bare text alike', () => {
    const msg = parseWecomXml('<xml><MsgId>1234567890123456789</MsgId><Content><![CDATA[你好 & <b>]]></Content><UserID>zhangsan</UserID></xml>');
    expect(msg).toEqual({ MsgId: '1234567890123456789', Content: '你好 & <b>', UserID: 'zhangsan' });
  });
});
