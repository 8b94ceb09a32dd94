import { z } from 'zod';
import { zhCN } from 'zod/locales';
import { ValidationError } from '../shared/errors.js';

/** `page` and `pageSize` query parameters (contract: lists). */
export const pageQuery = z.object({
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(500).default(50),
});

const ZH_CN = zhCN().localeError;

/** Parse input with a zod schema, turning failures into a 400 that lists every problem. */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  // zod's own words for the checks a schema does not word itself, in zh-CN: the console shows them next to the field.
  const r = schema.safeParse(input, { error: ZH_CN });
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    // The first problem of each field, keyed by its path, for forms that show it next to the field (invalidField).
    const fields: Record<string, string> = {};
    for (const i of r.error.issues) {
      const path = i.path.map(String).join('.');
      if (path && !(path in fields)) fields[path] = i.message;
    }
    throw new ValidationError(`请求参数有误：${problems.join('; ')}`, { problems, fields });
  }
  return r.data;
}
