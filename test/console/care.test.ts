import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { renderExample, templateVariables, unknownVariables, type Occasion } from '../../src/web/console/lib/care';

// The server's renderer, loaded at run time: its module uses Node's Buffer, which the console's type check (this
// folder is part of it) does not know.
const SERVER_TEMPLATE = '../../src/shared/template';
const { renderTemplate } = (await import(/* @vite-ignore */ SERVER_TEMPLATE)) as { renderTemplate: (tpl: string, vars: Record<string, string | number>) => string };

// The rule form's preview must read as the planner will render: the same variable syntax, unknown variables empty.
describe('care rule template preview', () => {
  const occasions: Occasion[] = [
    { type: 'birthday', daysBefore: 2 },
    { type: 'holiday', holidays: ['mid-autumn'] },
    { type: 'anniversary', days: [100], years: true },
    { type: 'followup', afterDays: 3 },
    { type: 'note_due' },
  ];
  const piece = fc.oneof(
    fc.constantFrom('{{name}}', '{{ staff }}', '{{holiday}}', '{{days}}', '{{years}}', '{{note}}', '{{姓名}}', '{{constructor}}', '{{', '}}', '{name}'),
    fc.string({ maxLength: 6 }),
  );

  it('renders any template as the server renders it with the example values', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), fc.constantFrom(...occasions), (parts, occasion) => {
        const template = parts.join('');
        const days = occasion.type === 'birthday' ? 2 : occasion.type === 'anniversary' ? 100 : occasion.type === 'followup' ? 3 : 7;
        const vars = { name: '王小明', staff: '张三', holiday: '中秋节', days, years: 1, note: '回访上次购买的体验' };
        const known = new Set(templateVariables(occasion.type).map((v) => v.name));
        const server = renderTemplate(template, Object.fromEntries(Object.entries(vars).filter(([k]) => known.has(k))));
        const unknown = unknownVariables(template, occasion.type);
        // Where the template uses only its occasion's variables, the preview is the server's text exactly.
        if (unknown.length === 0) expect(renderExample(template, occasion, '张三')).toBe(server);
      }),
    );
  });

  it('names the variables an occasion does not give', () => {
    expect(unknownVariables('{{name}}，{{holiday}}快乐', 'birthday')).toEqual(['holiday']);
    expect(unknownVariables('{{name}}，{{holiday}}快乐', 'holiday')).toEqual([]);
    expect(unknownVariables('还有 {{ days }} 天', 'birthday')).toEqual([]);
    expect(renderExample('{{name}} {{unknown}}!', { type: 'birthday' }, '李四')).toBe('王小明 !');
  });
});
