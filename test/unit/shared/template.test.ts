import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  WECOM_TEXT_MAX_BYTES,
  byteLength,
  compileTemplate,
  fitsByteLimit,
  listVariables,
  renderTemplate,
} from '../../../src/shared/template.js';

describe(renderTemplate.name, () => {
  it('substitutes known variables, numbers included', () => {
    const sut = renderTemplate('{{name}}，{{holiday}}快乐！我是{{ staff }}，认识您{{days}}天了', {
      name: '张三',
      staff: '李四',
      holiday: '中秋节',
      days: 100,
    });
    expect(sut).toBe('张三，中秋节快乐！我是李四，认识您100天了');
  });

  it('renders unknown, null and undefined variables empty', () => {
    expect(renderTemplate('Hi {{name}}{{nickname}}!', { name: null })).toBe('Hi !');
    expect(renderTemplate('{{a}}|{{b}}', { a: undefined })).toBe('|');
  });

  it('does not reach prototype properties', () => {
    expect(renderTemplate('[{{constructor}}][{{toString}}][{{__proto__}}]', {})).toBe('[][][]');
  });

  it('does not re-expand substituted values or evaluate anything', () => {
    expect(renderTemplate('{{name}}', { name: '{{staff}}', staff: 'x' })).toBe('{{staff}}');
    expect(renderTemplate('{{ name.constructor }} {{1+1}} ${process}', { name: 'a' })).toBe(
      '{{ name.constructor }} {{1+1}} ${process}',
    );
  });

  it('treats "$" in values literally', () => {
    expect(renderTemplate('{{name}}', { name: "$& $' $1" })).toBe("$& $' $1");
  });

  it('accepts Chinese variable names', () => {
    expect(renderTemplate('{{姓名}}您好', { 姓名: '王五' })).toBe('王五您好');
  });
});

describe(listVariables.name, () => {
  it('lists distinct names in order of first use', () => {
    expect(listVariables('{{name}} {{ staff }} {{name}} {{days}} {{bad name}} {{}}')).toEqual(['name', 'staff', 'days']);
    expect(listVariables('no variables')).toEqual([]);
  });
});

describe(byteLength.name, () => {
  it('counts UTF-8 bytes: ASCII 1, Chinese 3, emoji 4', () => {
    expect(byteLength('abc')).toBe(3);
    expect(byteLength('中秋')).toBe(6);
    expect(byteLength('🎂')).toBe(4);
  });
});

describe(fitsByteLimit.name, () => {
  it("applies WeCom's 4000-byte text limit by default", () => {
    expect(WECOM_TEXT_MAX_BYTES).toBe(4000);
    // 1333 Chinese characters are 3999 bytes; one more is 4002, over the limit despite 1334 characters.
    expect(fitsByteLimit('中'.repeat(1333))).toBe(true);
    expect(fitsByteLimit('中'.repeat(1334))).toBe(false);
    expect(fitsByteLimit('a'.repeat(4000))).toBe(true);
    expect(fitsByteLimit('a'.repeat(4001))).toBe(false);
    expect(fitsByteLimit('中中', 5)).toBe(false);
  });
});

describe(compileTemplate.name, () => {
  // Templates built from literal text, variables (known, unknown, spaced, Chinese) and stray braces.
  const piece = fc.oneof(
    fc.string({ maxLength: 6 }),
    fc.constantFrom('{{name}}', '{{ staff }}', '{{姓名}}', '{{missing}}', '{{constructor}}', '{{', '}}', '{{name', '{name}'),
  );
  const vars = fc.record({ name: fc.oneof(fc.string({ maxLength: 4 }), fc.constant(null), fc.constant('{{staff}}')), staff: fc.string({ maxLength: 4 }), 姓名: fc.integer() });

  it('renders exactly what renderTemplate renders, for the same template and values', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), fc.array(vars, { minLength: 1, maxLength: 3 }), (parts, values) => {
        const tpl = parts.join('');
        const render = compileTemplate(tpl);
        for (const v of values) expect(render(v)).toBe(renderTemplate(tpl, v));
      }),
    );
  });
});
