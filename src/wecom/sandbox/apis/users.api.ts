import type { ApiTable } from '../api-types.js';
import { Errcode, SandboxApiError } from '../errcodes.js';
import { requireString } from '../params.js';

/** 通讯录 reads a self-built app may make (doc path/90196). */
export const userApis: ApiTable = {
  'user/get': {
    method: 'GET',
    auth: 'agent',
    handle(req, { store }) {
      // 60111 "UserID参数为空，或者不存在通讯录中" covers both a missing and an unknown userid (docs/wecom-protocol.md §Error codes).
      const userid = requireString(req.query, 'userid', Errcode.UseridNotFound);
      const member = store.staff.get(userid);
      if (!member) throw new SandboxApiError(Errcode.UseridNotFound, userid);
      // An app token reads only members inside the app's visible range (docs/wecom-protocol.md §Error codes, 60011).
      if (member.isOutsideVisibleRange) throw new SandboxApiError(Errcode.NoContactPrivilege, userid);
      const department = member.department ?? [1];
      // Apps created after 2022-06-20 no longer get avatar, gender, mobile, email or address (doc path/90196),
      // so the sandbox never sends them.
      return {
        userid: member.userid,
        name: member.name,
        department,
        order: department.map(() => 0),
        position: member.position ?? '',
        is_leader_in_dept: department.map(() => 0),
        direct_leader: [],
        main_department: department[0],
        // 1 = activated (docs/wecom-protocol.md §Member events).
        status: 1,
      };
    },
  },
};
