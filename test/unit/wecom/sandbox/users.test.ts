import { describe, expect, it } from 'vitest';
import { SANDBOX_CORP } from '../../../../src/wecom/sandbox-identity.js';
import { handleControl } from '../../../../src/wecom/sandbox/control.router.js';
import { buildSandbox, callApi, tokenFor } from './sandbox-harness.js';

async function seeded() {
  const { sut } = buildSandbox();
  sut.seed();
  return { sut, token: await tokenFor(sut) };
}

describe('WecomSandbox user/get (读取成员, doc path/90196)', () => {
  it('returns a visible member’s name, departments, position and status, and none of the fields withheld since 2022-06-20', async () => {
    const { sut, token } = await seeded();

    const res = await callApi(sut, token, 'user/get', undefined, { userid: 'zhangsan' });

    expect(res).toMatchObject({ errcode: 0, errmsg: 'ok', userid: 'zhangsan', name: '张三', department: [1], main_department: 1, position: '客户经理', status: 1 });
    for (const withheld of ['avatar', 'thumb_avatar', 'gender', 'mobile', 'email', 'biz_mail', 'address', 'qr_code']) expect(res).not.toHaveProperty(withheld);
  });

  it('gives every seeded member a Chinese name', async () => {
    const { sut, token } = await seeded();
    const { follow_user: userids } = await callApi(sut, token, 'externalcontact/get_follow_user_list');

    const names = [];
    for (const userid of userids) names.push((await callApi(sut, token, 'user/get', undefined, { userid })).name);

    expect(names).toEqual(['张三', '李四', '王五', '赵六', '孙七']);
  });

  it('answers 60111 for an unknown or missing userid', async () => {
    const { sut, token } = await seeded();

    expect((await callApi(sut, token, 'user/get', undefined, { userid: 'nobody' })).errcode).toBe(60111);
    expect((await callApi(sut, token, 'user/get')).errcode).toBe(60111);
  });

  it('answers 60011 for a member moved outside the app’s visible range, who stays in get_follow_user_list, until moved back', async () => {
    const { sut, token } = await seeded();

    const moved = await handleControl(sut, 'POST', 'staff/visibility', {}, { userid: 'lisi', visible: false });

    expect(moved).toEqual({ httpStatus: 200, body: { userid: 'lisi', visible: false } });
    const hidden = await callApi(sut, token, 'user/get', undefined, { userid: 'lisi' });
    expect(hidden.errcode).toBe(60011);
    expect(hidden).not.toHaveProperty('name');
    expect((await callApi(sut, token, 'externalcontact/get_follow_user_list')).follow_user).toContain('lisi');
    expect((await callApi(sut, token, 'user/get', undefined, { userid: 'zhangsan' })).errcode).toBe(0);

    await handleControl(sut, 'POST', 'staff/visibility', {}, { userid: 'lisi', visible: true });
    expect((await callApi(sut, token, 'user/get', undefined, { userid: 'lisi' })).name).toBe('李四');
  });

  it('rejects a visibility change for an unknown member with 404', async () => {
    const { sut } = await seeded();

    expect((await handleControl(sut, 'POST', 'staff/visibility', {}, { userid: 'nobody', visible: false })).httpStatus).toBe(404);
  });

  it('needs the app’s token: the KF secret’s gets 48002', async () => {
    const { sut } = await seeded();
    const kfToken = await tokenFor(sut, SANDBOX_CORP.kfSecret);

    expect((await callApi(sut, kfToken, 'user/get', undefined, { userid: 'zhangsan' })).errcode).toBe(48002);
  });
});
