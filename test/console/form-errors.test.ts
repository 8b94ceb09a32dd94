import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/web/console/lib/api';
import { useFieldErrors } from '../../src/web/console/lib/form-errors';

/** How a console form places the server's 400 `details.fields` next to its own fields (README §HTTP). */
describe('console form field errors', () => {
  const refused = (fields: Record<string, string>) => new ApiError(400, 'validation_error', '请求参数有误', fields);

  it('puts each message on the form field it names, nested paths on their top-level field', () => {
    const fe = useFieldErrors(['name', 'staff', 'welcomeText'], { 'welcome.text': 'welcomeText' });
    expect(fe.take(refused({ name: '请填写名称', 'staff.0': '成员账号无效', 'welcome.text': '欢迎语超过 4000 字节' }))).toBe(true);
    expect(fe.of('name')).toBe('请填写名称');
    expect(fe.of('staff')).toBe('成员账号无效');
    expect(fe.of('welcomeText')).toBe('欢迎语超过 4000 字节');
    expect(fe.of('priority')).toBe('');
  });

  it('tells the caller to show what it could not place: a field the form lacks, an error without fields, a network failure', () => {
    const fe = useFieldErrors(['name']);
    expect(fe.take(refused({ name: '请填写名称', audience: '无法解析' }))).toBe(false);
    expect(fe.of('name')).toBe('请填写名称');
    expect(fe.take(new ApiError(409, 'conflict', '已存在'))).toBe(false);
    expect(fe.of('name')).toBe('');
    expect(fe.take(new Error('boom'))).toBe(false);
  });

  it('forgets the last answer on the next take and on clear', () => {
    const fe = useFieldErrors(['name', 'priority']);
    fe.take(refused({ name: '请填写名称' }));
    fe.take(refused({ priority: '必须是整数' }));
    expect(fe.of('name')).toBe('');
    expect(fe.of('priority')).toBe('必须是整数');
    fe.clear();
    expect(fe.of('priority')).toBe('');
  });
});
