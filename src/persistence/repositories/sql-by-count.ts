/**
 * A statement text that depends only on how many rows or values it carries (a multi-row INSERT, an IN list), built
 * once per count and then reused. Planning a page repeats the same few counts (full chunks, and the last page's
 * remainder) thousands of times; building the text anew each time allocated a fresh string of up to tens of
 * kilobytes per statement. Only the last few counts are kept, so remainders of every size do not pile up.
 */
export function sqlByCount(build: (n: number) => string, keep = 4): (n: number) => string {
  const byCount = new Map<number, string>();
  return (n) => {
    let sql = byCount.get(n);
    if (sql !== undefined) return sql;
    sql = build(n);
    byCount.set(n, sql);
    if (byCount.size > keep) byCount.delete(byCount.keys().next().value as number);
    return sql;
  };
}
