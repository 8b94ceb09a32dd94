// Every value the API speaks in codes, in the words an operator reads (zh-CN). The console never shows a raw code:
// an unknown one reads as 其他 with the code in the tooltip only.

type Labels = Record<string, string>;

export const ROLE: Labels = { admin: '管理员', operator: '运营', staff: '员工' };

export const ACTIVITY: Labels = { active: '活跃', dormant: '沉睡', churned: '流失' };

export const STAGE: Labels = {
  new: '新客户',
  prospect: '潜在客户',
  customer: '成交客户',
  loyal: '忠诚客户',
  at_risk: '流失风险',
  churned: '已流失',
};

/** RFM segments are Chinese already (README: Scoring). */
export const RFM_SEGMENTS = ['重要价值', '重要发展', '重要保持', '重要挽留', '一般价值', '一般发展', '一般保持', '一般挽留'];

export const GENDER: Labels = { '0': '未知', '1': '男', '2': '女' };

export const CUSTOMER_TYPE: Labels = { '1': '微信用户', '2': '企业微信用户' };

export const RELATION_STATUS: Labels = {
  active: '跟进中',
  deleted_by_staff: '员工已删除',
  deleted_by_customer: '客户已删除',
  transferred: '已转接',
};

/** WeCom's add_way codes (客户联系 get 接口的 add_way). */
export const ADD_WAY: Labels = {
  '0': '未知来源',
  '1': '扫描二维码',
  '2': '搜索手机号',
  '3': '名片分享',
  '4': '群聊',
  '5': '手机通讯录',
  '6': '微信联系人',
  '8': '安装第三方应用时自动添加',
  '9': '搜索邮箱',
  '10': '视频号添加',
  '11': '日程参与人',
  '12': '会议参与人',
  '13': '添加微信好友对应的企业微信',
  '14': '智慧硬件专属客服',
  '15': '上门服务客服',
  '16': '获客链接',
  '17': '定制开发',
  '18': '需求回复',
  '201': '内部成员共享',
  '202': '管理员/负责人分配',
};

export const TAG_SOURCE: Labels = {
  wecom: '企业微信',
  manual: '手动',
  channel: '渠道活码',
  keyword: '关键词规则',
  behaviour: '行为规则',
  rule: '规则',
  local: '本地',
};

export const EVENT_STATUS: Labels = { pending: '待处理', running: '处理中', done: '已完成', failed: '失败', ignored: '已忽略' };

export const EVENT_KIND: Labels = {
  'event/change_external_contact/add_external_contact': '添加客户',
  'event/change_external_contact/add_half_external_contact': '客户添加（待通过）',
  'event/change_external_contact/edit_external_contact': '编辑客户',
  'event/change_external_contact/del_external_contact': '员工删除客户',
  'event/change_external_contact/del_follow_user': '客户删除员工',
  'event/change_external_contact/transfer_fail': '客户转接失败',
  'event/change_external_tag/create': '新建标签',
  'event/change_external_tag/update': '修改标签',
  'event/change_external_tag/delete': '删除标签',
  'event/change_external_tag/shuffle': '标签重排',
  'event/change_external_chat/create': '客户群创建',
  'event/change_external_chat/update': '客户群变更',
  'event/change_external_chat/dismiss': '客户群解散',
  'event/change_contact/create_user': '新增成员',
  'event/change_contact/update_user': '成员变更',
  'event/change_contact/delete_user': '成员离开',
  'event/kf_msg_or_event': '微信客服消息',
  'msg/text': '应用文本消息',
};

export const TIMELINE_KIND: Labels = {
  add: '添加',
  added: '添加',
  add_external_contact: '添加',
  delete: '删除',
  deleted: '删除',
  del_external_contact: '员工删除',
  del_follow_user: '客户删除',
  edit: '编辑',
  tag: '标签',
  tags: '标签',
  message: '消息',
  kf: '客服消息',
  kf_message: '客服消息',
  keyword: '关键词',
  note: '跟进记录',
  consent: '退订设置',
  transfer: '客户继承',
  welcome: '欢迎语',
  care: '关怀',
  birthday: '生日关怀',
  holiday: '节日关怀',
  anniversary: '纪念日关怀',
  winback: '挽回',
  broadcast: '群发',
  delivery: '消息投递',
  order: '订单',
  churn_alert: '删人提醒',
  churn_warning: '流失预警',
  alert: '提醒',
  group: '客户群',
  channel: '渠道',
};

export const BROADCAST_STATUS: Labels = {
  scheduled: '待发送',
  planning: '规划中',
  sending: '发送中',
  done: '已完成',
  cancelled: '已取消',
  failed: '失败',
};

export const BROADCAST_REASON: Labels = { missed_window: '错过发送窗口（48 小时内未能规划）', planning_failed: '规划失败（已重试 3 次）', invalid_audience: '受众表达式无效', cancelled: '运营取消' };

/** Attachment kinds of a broadcast (add_msg_template). */
export const ATTACHMENT_KIND: Labels = { image: '图片', link: '链接', miniprogram: '小程序', video: '视频', file: '文件' };

/** The steps and outcomes of a broadcast's delivery funnel (GET /api/v1/broadcasts/:id/progress). */
export const BROADCAST_FUNNEL: Labels = {
  planned: '计划发送',
  submitted: '已生成群发任务',
  confirmed: '员工已确认',
  sent: '已送达',
  pending: '等待提交',
  skipped: '已跳过',
  overQuota: '超出群发额度',
  failed: '发送失败',
  expired: '已撤回或过期',
};

export const DELIVERY_STATUS: Labels = {
  planned: '待发送',
  submitting: '提交中',
  submitted: '待员工确认',
  sent: '已发送',
  failed: '失败',
  over_quota: '超出群发额度',
  skipped: '已跳过',
  expired: '已过期',
};

export const DELIVERY_KIND: Labels = { care: '关怀', winback: '挽回', broadcast: '群发', loyalty: '会员升级', survey: '满意度调查', journey: '客户旅程' };

export const SKIP_REASON: Labels = {
  opted_out: '客户已退订',
  daily_cap: '超出每日上限',
  wecom_quota: '超出企业微信群发额度',
  no_sender: '没有可发送的员工',
  cancelled: '群发已取消',
  quiet_hours: '免打扰时段',
  kf_window_closed: '48 小时会话窗口已关闭',
  outcome_unknown: '发送结果未知，未重发',
  text_too_long: '消息超长',
  // Held out on purpose to measure the lift (docs/analytics.md §Holdout): nothing was wrong with the customer.
  holdout: '对照组，不发送',
};

/**
 * The reason codes 触达效果 groups skipped and failed rows by (the ledger reason's leading code, docs/analytics.md
 * §Care and campaign results): the skip reasons, and what WeCom or the planner gave for a failure or a withdrawal.
 */
export const LEDGER_REASON: Labels = {
  ...SKIP_REASON,
  erased: '已删除个人信息',
  missed_window: '错过发送窗口',
  invalid_audience: '受众表达式无效',
  planning_failed: '规划失败',
  not_friend: '已不是好友',
  wecom_fail_list: '企业微信拒绝发送',
  not_confirmed: '员工未确认',
  errcode: '企业微信接口错误',
  unknown: '未注明原因',
};

export const STAFF_STATUS: Labels = { active: '在职', resigned: '已离职' };

/** The churn causes a member may record (docs/churn.md §Causes; the server's STAFF_CAUSES, in its order). */
export const STAFF_CHURN_CAUSE: Labels = { price: '价格原因', service: '服务不满意', product: '产品问题', competitor: '选择了竞品', no_need: '不再需要', other: '其他' };

export const CALENDAR: Labels = { solar: '公历', lunar: '农历' };

/** The label of a code, or 其他 when the console does not know it (never the raw code). */
export function label(map: Labels, code: string | number | null | undefined, none = '—'): string {
  if (code === null || code === undefined || code === '') return none;
  return map[String(code)] ?? '其他';
}

/**
 * A ledger reason such as `opted_out` or `daily_cap: 3/day`: the code's words, then any detail after it. A detail in
 * the server's `中文 / English` form (`holdout: 对照组，不发送 / held out…`) only says the code again, and is left out.
 */
export function reasonLabel(reason: string | null, kind?: string | null): string {
  if (!reason) return '';
  const m = /^([a-z_]+)(.*)$/.exec(reason);
  if (!m) return reason;
  const word = kindReason(m[1], kind);
  if (!word) return reason;
  // A bilingual detail only repeats the code (and its English half must not reach the screen).
  if (m[2].includes(' / ')) return word;
  // A journey's cancellation already says why in words (「客户已退出旅程（客户已下单）」): shown as it is.
  const rest = m[2].replace(/^:\s*/, '');
  return rest.startsWith(word) ? rest : `${word}${m[2]}`;
}

/**
 * Skip reasons that read differently for one kind of ledger row: a journey's message is cancelled because the
 * customer left the journey (docs/journeys.md §Exits), not because a broadcast was called off.
 */
const SKIP_REASON_BY_KIND: Record<string, Labels> = { journey: { cancelled: '客户已退出旅程' } };

/** A skip reason code in words for a row of `kind` (when known); undefined for a code that is not a skip reason. */
function kindReason(code: string, kind?: string | null): string | undefined {
  return (kind ? SKIP_REASON_BY_KIND[kind]?.[code] : undefined) ?? SKIP_REASON[code];
}

/** A ledger reason code (触达效果's groups) in words for rows of `kind`: journey rows' `cancelled` is 客户已退出旅程. */
export function ledgerReasonLabel(code: string, kind?: string | null): string {
  return (kind ? SKIP_REASON_BY_KIND[kind]?.[code] : undefined) ?? label(LEDGER_REASON, code);
}

/** A holdout share as the pages show it: 20%, or 不设 for none. */
export const holdoutText = (percent: number | null | undefined): string => (percent ? `${percent}%` : '不设');

export const HOLIDAY: Labels = {
  'new-year': '元旦',
  'spring-festival': '春节',
  lantern: '元宵节',
  valentine: '情人节',
  'womens-day': '妇女节',
  'labour-day': '劳动节',
  'dragon-boat': '端午节',
  qixi: '七夕',
  'mid-autumn': '中秋节',
  'national-day': '国庆节',
  'double-ninth': '重阳节',
  'winter-solstice': '冬至',
  christmas: '圣诞节',
};

/** What a care rule fires on (the rule form's choices). */
export const OCCASION_TYPE: Labels = { birthday: '生日', holiday: '节日', anniversary: '纪念日', followup: '新客跟进', note_due: '跟进记录到期', repurchase: '复购提醒', winback: '沉睡挽回' };

/** WeCom's per-customer mass message rule as the corp set it (config/care-rules.json settings.massQuotaRule). */
export const MASS_QUOTA_RULE: Labels = { days_of_month: '每月不超过当月天数', seven_per_week: '每周 7 条', one_per_day: '每天 1 条' };

/** What the care calendar says becomes of a customer on a day. */
export const CALENDAR_OUTCOME: Labels = { planned: '将发送', already: '已安排', skipped: '将跳过', opted_out: '已退订，不发送' };

export const DELIVERY_CHANNEL: Labels = { mass_task: '群发助手（员工确认）', staff_reminder: '提醒员工', kf: '微信客服' };

export const TAG_RULE_KIND: Labels = { keyword: '关键词', behaviour: '行为' };

export const MATCH_TYPE: Labels = { substring: '包含关键词', regex: '正则表达式' };

/** A care rule's occasion in words: 生日, 节日（春节、中秋节）, 添加后 7 天未互动… */
export function occasionText(o: { type: string; holidays?: string[]; days?: number[]; years?: boolean; afterDays?: number; steps?: unknown[]; daysBefore?: number }): string {
  switch (o.type) {
    case 'birthday':
      return o.daysBefore ? `生日（提前 ${o.daysBefore} 天）` : '生日';
    case 'holiday':
      return `节日（${(o.holidays ?? []).map((h) => HOLIDAY[h] ?? '其他').join('、')}）`;
    case 'anniversary': {
      const parts = [...(o.days ?? []).map((d) => `添加满 ${d} 天`), ...(o.years ? ['每个添加周年'] : [])];
      return `纪念日（${parts.join('、') || '未设置'}）`;
    }
    case 'followup':
      return `添加后 ${o.afterDays} 天未互动，提醒员工跟进`;
    case 'note_due':
      return '跟进记录到期，提醒员工';
    case 'repurchase':
      return o.daysBefore ? `复购提醒（预计购买日前 ${o.daysBefore} 天）` : '复购提醒（预计购买日当天）';
    case 'winback':
      return `沉睡客户挽回（${(o.steps ?? []).length} 步）`;
    default:
      return '其他';
  }
}

export const ACTOR_KIND: Labels = { member: '成员', token: 'API 令牌', admin_token: '管理员令牌', cli: '命令行' };

export const AUDIT_SOURCE: Labels = { console: '控制台', api: 'API', sidebar: '侧边栏', cli: '命令行' };

export const ROLE_SOURCE: Labels = { config: '配置（ADMIN_USERIDS）', granted: '授予' };

/** What the audit log's resources are called; the filter offers them as `resource.` prefixes. */
export const AUDIT_RESOURCE: Labels = {
  channels: '渠道活码',
  'care-rules': '关怀规则',
  'tag-rules': '标签规则',
  tags: '标签',
  broadcasts: '群发',
  customers: '客户',
  notes: '跟进记录',
  transfers: '客户继承',
  'quick-replies': '快捷回复',
  users: '成员角色',
  staff: '员工',
  events: '回调事件',
  orders: '订单',
  session: '登录',
  loyalty: '积分与会员',
  tokens: 'API 令牌',
  surveys: '满意度调查',
  todo: '今日待办',
  journeys: '客户旅程',
};

const AUDIT_VERB: Labels = {
  // 今日待办 (docs/todo.md §API): todo.task.done and the like.
  'task.create': '新建任务',
  'task.done': '完成任务',
  'task.snooze': '推迟任务',
  'task.skip': '跳过任务',
  'note.done': '完成跟进记录',
  'mass.remind': '提醒去群发助手发送',
  // 客户旅程 (docs/journeys.md): journeys.enrol, journeys.migrate, customers.replied.
  enrol: '手动加入客户',
  migrate: '成员迁移到最新版本',
  replied: '标记客户已回复',
  'from-winback': '由唤醒活动转为客户旅程',
  create: '新建',
  update: '修改',
  delete: '删除',
  cancel: '取消',
  remind: '提醒成员群发',
  replay: '重试',
  role: '设置角色',
  erase: '删除个人信息',
  tags: '修改标签',
  'bulk-tags': '批量修改标签',
  notes: '新建',
  import: '导入',
  'revoke-access': '收回访问',
  logout: '退出登录',
  grant: '授予角色',
  revoke: '收回角色',
  adjust: '调整积分',
  redeem: '兑换积分',
  status: '修改状态',
  send: '发送',
  link: '生成链接',
};

/** `channels.create` → 渠道活码 · 新建. */
export function auditActionText(action: string): string {
  const dot = action.indexOf('.');
  const resource = dot < 0 ? action : action.slice(0, dot);
  const verb = dot < 0 ? '' : action.slice(dot + 1);
  return `${AUDIT_RESOURCE[resource] ?? '其他'} · ${AUDIT_VERB[verb] ?? '其他操作'}`;
}

/** NPS bands (`nps:`), as the audience builder offers them. */
export const NPS_BAND: Labels = { detractor: '贬损者（0–6 分）', passive: '中立者（7–8 分）', promoter: '推荐者（9–10 分）' };

/** Feedback ticket states (`ticket:`, docs/feedback.md §Audiences), as the audience builder offers them. */
export const TICKET_STATE: Labels = { open: '有未解决的反馈工单', overdue: '有超时未联系的反馈工单' };

/** Churn-risk levels (`risk:`, docs/churn.md §Audiences), as the audience builder offers them. */
export const RISK_LEVEL: Labels = { high: '高风险', medium: '中风险', low: '低风险' };

/** The audience builder's fields (docs/audiences.md §The language). */
export const AUDIENCE_FIELD: Labels = {
  tag: '标签',
  owner: '负责员工',
  activity: '活跃度',
  stage: '阶段',
  rfm: 'RFM 分层',
  channel: '渠道',
  birthday: '生日',
  gender: '性别',
  added: '添加日期',
  silent: '未互动天数',
  orders: '订单数',
  spent: '累计消费（元）',
  points: '积分余额',
  tier: '会员等级',
  nps: 'NPS 分组',
  csat: '最近满意度（1–5）',
  answered: '已答问卷（编号）',
  ticket: '客户反馈工单',
  risk: '流失风险',
  due_in: '距预计复购天数',
  overdue: '复购逾期天数',
  group: '所在客户群（群 ID）',
  ingroup: '在某员工的群里（群主）',
  id: '指定客户',
};

export const BIRTHDAY_WINDOW: Labels = { today: '今天过生日', 'this-week': '本周过生日', 'this-month': '本月过生日', none: '未填写生日' };

export const AUDIENCE_GENDER: Labels = { male: '男', female: '女', unknown: '未知' };

/** Comparisons of numbers (天数、订单数、金额). */
export const COMPARE_NUMBER: Labels = { '>=': '不少于', '<=': '不多于', '>': '多于', '<': '少于' };

/** Comparisons of dates (添加日期). */
export const COMPARE_DATE: Labels = { '>=': '当天或之后', '<=': '当天或之前', '>': '之后', '<': '之前' };

/** A customer transfer's status (GET /api/v1/transfers; README §客户继承). */
export const TRANSFER_STATUS: Labels = {
  requested: '已提交，等待企业微信确认',
  waiting: '等待接替（24 小时内）',
  done: '已接替',
  refused: '客户拒绝',
  taker_limit: '接替成员客户数已满',
  failed: '失败',
};

export const TRANSFER_KIND: Labels = { onjob: '在职继承', resigned: '离职继承' };

/** A group transfer's status (docs/groups.md §Group transfers). */
export const GROUP_TRANSFER_STATUS: Labels = {
  requested: '已提交，结果核对中',
  retrying: '等待自动重试',
  done: '已转交',
  failed: '失败',
};

/** Who sends when a customer has several followers (config/care-rules.json settings.senderPolicy). */
export const SENDER_POLICY: Labels = { latest: '最近添加客户的员工', earliest: '最早添加客户的员工' };
