import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * The layer boundaries and the no-cycle rule of `.dependency-cruiser.cjs` (run by `npm run lint`), checked two ways:
 * - planted imports: files written into a scratch copy of the paths they import, cruised with the same rules. A
 *   wrong-direction import must be reported under the rule that names the direction; a right one must pass.
 * - the real src/: no cycle and nothing refused.
 */

const root = join(import.meta.dirname, '..', '..');
const config = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs'));
const tsConfig = extractTSConfig(join(root, 'tsconfig.json'));

async function violations(files: string[], baseDir: string, maxDepth = 0): Promise<IViolation[]> {
  const { output } = await cruise(
    files,
    { ...config.options, validate: true, ruleSet: { forbidden: config.forbidden }, baseDir, maxDepth },
    {},
    { tsConfig },
  );
  return (output as ICruiseResult).summary.violations;
}

const show = (v: IViolation) =>
  v.cycle ? `${v.rule.name}: ${[v.from, ...v.cycle.map((c) => c.name)].join(' → ')}` : `${v.rule.name}: ${v.from} → ${v.to}`;

/** Every .ts file under a directory of src/, repository-relative, sorted (the planted imports point at real files). */
function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir)).sort()) {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) out.push(...tsFiles(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

describe('layer boundaries: planted imports', () => {
  let scratch: string;
  let found: IViolation[];
  const domainService = tsFiles('src/domain').find((f) => f.endsWith('.service.ts'))!;
  const domainTypes = tsFiles('src/domain').find((f) => f.endsWith('.types.ts'))!;
  const planted: Record<string, string> = {};

  /** `import … from '<path relative to file>.js'` */
  const spec = (file: string, target: string) => {
    const rel = relative(dirname(file), target).replace(/\.ts$/, '.js');
    return rel.startsWith('.') ? rel : `./${rel}`;
  };
  const plant = (file: string, text: string) => (planted[file] = text);

  beforeAll(async () => {
    // Wrong: a repository using a domain service; a repository importing a domain type file without `import type`;
    // a domain file reaching into the container; http importing persistence; two domain files that load each other,
    // and two that name each other's types.
    plant('src/persistence/repositories/planted-wrong.repository.ts', `import { X } from '${spec('src/persistence/repositories/x.ts', domainService)}';\nexport const y = X;\n`);
    plant('src/persistence/repositories/planted-value.repository.ts', `import { T } from '${spec('src/persistence/repositories/x.ts', domainTypes)}';\nexport type U = T;\n`);
    plant('src/domain/planted/uses-container.ts', `import type { Container } from '../../container.js';\nexport type C = Container;\n`);
    plant('src/http/planted-wrong.ts', `import { Db } from '../persistence/db.js';\nexport const d = Db;\n`);
    plant('src/domain/loop/loop-a.ts', `import { b } from './loop-b.js';\nexport const a = () => b;\n`);
    plant('src/domain/loop/loop-b.ts', `import { a } from './loop-a.js';\nexport const b = () => a;\n`);
    plant('src/domain/loop/types-a.ts', `import type { B } from './types-b.js';\nexport interface A { b?: B }\n`);
    plant('src/domain/loop/types-b.ts', `import type { A } from './types-a.js';\nexport interface B { a?: A }\n`);
    // Right: a repository with `import type` from a domain type file; http using a domain service; inside the
    // sandbox only, two files that name each other's types.
    plant('src/persistence/repositories/planted-right.repository.ts', `import type { T } from '${spec('src/persistence/repositories/x.ts', domainTypes)}';\nexport type U = T;\n`);
    plant('src/http/planted-right.ts', `import { X } from '${spec('src/http/x.ts', domainService)}';\nexport const x = X;\n`);
    plant('src/wecom/sandbox/loop/types-a.ts', `import type { B } from './types-b.js';\nexport interface A { b?: B }\n`);
    plant('src/wecom/sandbox/loop/types-b.ts', `import type { A } from './types-a.js';\nexport interface B { a?: A }\n`);

    scratch = mkdtempSync(join(tmpdir(), 'wecom-ops-arch-'));
    for (const target of [domainService, domainTypes, 'src/container.ts', 'src/persistence/db.ts']) {
      mkdirSync(dirname(join(scratch, target)), { recursive: true });
      copyFileSync(join(root, target), join(scratch, target));
    }
    for (const [file, text] of Object.entries(planted)) {
      mkdirSync(dirname(join(scratch, file)), { recursive: true });
      writeFileSync(join(scratch, file), text);
    }
    // Depth 1: the planted files and what they import directly, not the copied files' own imports. The loops are
    // cruised whole (cycles are found over the full graph, which depth 1 cuts).
    const [direct, loops] = await Promise.all([
      violations(Object.keys(planted).filter((f) => !f.includes('/loop/')), scratch, 1),
      violations(['src/domain/loop', 'src/wecom/sandbox/loop'], scratch),
    ]);
    found = [...direct, ...loops];
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const rulesFor = (file: string) => found.filter((v) => v.from === file).map((v) => v.rule.name);

  it('refuses a repository that imports a domain service', () => {
    expect(rulesFor('src/persistence/repositories/planted-wrong.repository.ts')).toEqual(['persistence-imports']);
  });

  it('refuses a domain type imported into persistence without `import type`', () => {
    expect(rulesFor('src/persistence/repositories/planted-value.repository.ts')).toEqual(['persistence-imports-types-only']);
  });

  it('refuses a domain file that imports src/container.ts', () => {
    expect(rulesFor('src/domain/planted/uses-container.ts')).toEqual(['container-only-from-main-and-cli']);
  });

  it('refuses http importing persistence', () => {
    expect(rulesFor('src/http/planted-wrong.ts')).toEqual(['http-imports']);
  });

  it('refuses import cycles, `import type` included (a type-only loop passes inside the sandbox only)', () => {
    expect(found.filter((v) => v.rule.name.startsWith('no-circular')).map(show).sort()).toEqual([
      'no-circular: src/domain/loop/loop-a.ts → src/domain/loop/loop-b.ts → src/domain/loop/loop-a.ts',
      'no-circular: src/domain/loop/types-a.ts → src/domain/loop/types-b.ts → src/domain/loop/types-a.ts',
    ]);
  });

  it('passes `import type` from a domain type file into persistence, and http using a domain service', () => {
    expect(rulesFor('src/persistence/repositories/planted-right.repository.ts')).toEqual([]);
    expect(rulesFor('src/http/planted-right.ts')).toEqual([]);
  });
});

describe('layer boundaries: src/', () => {
  let found: IViolation[];
  beforeAll(async () => {
    found = await violations(['src'], root);
  });

  it('has no import cycles', () => {
    expect(found.filter((v) => v.rule.name.startsWith('no-circular')).map(show)).toEqual([]);
  });

  it('refuses nothing', () => {
    expect(found.map(show)).toEqual([]);
  });
});
