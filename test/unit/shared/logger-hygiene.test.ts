import { describe, expect, it } from 'vitest';
import { QueryFailedError } from 'typeorm';
import { MAX_LOG_LINE_BYTES } from '../../../src/shared/logger.js';
import { capturedLogger } from '../../helpers/captured-logger.js';

// No log line carries SQL parameters, and none exceeds the cap. docs/security.md §Logging.


describe('logger hygiene', () => {
  it('drops the SQL, the parameters and the driver copy of a failed statement from any logger call, and masks values quoted in its message', () => {
    const { log, lines } = capturedLogger();
    const driverError = Object.assign(new Error("Duplicate entry '13812345678' for key 'customers.phone'"), {
      code: 'ER_DUP_ENTRY',
      errno: 1062,
      sql: "INSERT INTO customers (phone) VALUES ('13812345678')",
      sqlMessage: "Duplicate entry '13812345678' for key 'customers.phone'",
    });
    const err = new QueryFailedError('INSERT INTO customers (phone) VALUES (?)', ['13812345678'], driverError);
    log.child({ component: 'x' }).warn({ err }, 'write failed');
    log.error({ error: err }, 'also under "error"');
    log.error({ err: new Error('outer', { cause: err }) }, 'and as a cause');
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(line).not.toContain('13812345678');
      expect(line).not.toMatch(/INSERT INTO|"parameters"|"query"|"sql"/);
    }
    const first = JSON.parse(lines[0]);
    expect(first.err.driverError).toEqual({ code: 'ER_DUP_ENTRY', errno: 1062 });
    expect(first.err.message).toBe("Duplicate entry '…' for key '…'");
  });

  it(`keeps every line within ${MAX_LOG_LINE_BYTES} bytes, keeping level, time and message`, () => {
    const { log, lines } = capturedLogger();
    log.info({ huge: '/'.repeat(5_000_000) }, 'huge field');
    log.info({ many: Array.from({ length: 10_000 }, (_, i) => `item-${i}-${'x'.repeat(50)}`) }, 'many fields');
    log.info('中'.repeat(20_000));
    log.info({ ok: 'small' }, 'small line');
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      expect(Buffer.byteLength(line)).toBeLessThanOrEqual(MAX_LOG_LINE_BYTES);
      expect(JSON.parse(line)).toMatchObject({ level: 30 });
    }
    expect(JSON.parse(lines[0])).toMatchObject({ msg: 'huge field', truncated: true });
    expect(JSON.parse(lines[3])).toEqual(expect.objectContaining({ ok: 'small', msg: 'small line' }));
    expect(JSON.parse(lines[3]).truncated).toBeUndefined();
  });
});
