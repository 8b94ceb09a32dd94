import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';

/**
 * A 400 about request body fields names them in `details.fields` (README §HTTP), so the console can show each message
 * next to its field: schema checks (zod) name the field's path, and services name the field they refuse.
 */
describe('400 answers name the refused fields', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp('sqlite');
  });
  afterAll(async () => {
    await app?.close();
  });

  it('a schema check names each bad field by its path in the body, with its own message', async () => {
    const res = await api<{ error: { code: string; message: string; details: { fields: Record<string, string>; problems: string[] } } }>(app, 'POST', '/api/v1/care-rules', {
      name: '',
      priority: 1.5,
      occasion: { type: 'birthday' },
      template: { text: '生日快乐' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
    expect(Object.keys(res.body.error.details.fields)).toEqual(expect.arrayContaining(['name', 'priority']));
    for (const [path, message] of Object.entries(res.body.error.details.fields)) {
      // In the console's language, whether the schema words the check itself or leaves it to zod.
      expect(message).toMatch(/[\u4e00-\u9fff]/);
      // The whole message still lists every problem, for scripts and the toast.
      expect(res.body.error.message).toContain(`${path}: ${message}`);
    }
  });
});
