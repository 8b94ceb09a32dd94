import { csv } from './analytics-csv.js';
import type { StaffAnswer, StaffFigures } from './staff-performance.types.js';

const percent = (r: number | null): string => (r === null ? '' : `${r.toFixed(2)}%`);

const HEADER = [
  '员工',
  '企业微信统计天数',
  '聊天总数',
  '发送消息数',
  '已回复聊天占比',
  '平均首次回复时长（分钟）',
  '有回复数据的天数',
  '删除/拉黑成员的客户数',
  '发起申请数',
  '新增客户数',
  '客户数',
  '客户数截至',
  '群发任务',
  '超时确认的群发',
  '未确认的群发',
  '待确认的群发',
  '到期跟进',
  '已完成跟进',
];

function cells(f: StaffFigures): (string | number | null)[] {
  return [
    f.name,
    f.wecomDays,
    f.chatCnt,
    f.messageCnt,
    percent(f.replyPercentage),
    f.avgReplyTime,
    f.replyDays,
    f.negativeFeedbackCnt,
    f.newApplyCnt,
    f.newContactCnt,
    f.customers,
    f.customersAsOf,
    f.massTasks,
    f.confirmedLate,
    f.neverConfirmed,
    f.awaiting,
    f.followupsDue,
    f.followupsDone,
  ];
}

/** 员工统计 as CSV: one line per period and member (default), or one per member over the whole range. */
export function staffCsv(a: StaffAnswer, table: 'periods' | 'members'): string {
  if (table === 'members') return csv(HEADER, a.members.map(cells));
  return csv(['周期', '开始日期', '结束日期', ...HEADER], a.lines.map((l) => [l.period, l.periodStart, l.periodEnd, ...cells(l)]));
}
