import type { SandboxCustomer, SandboxGroupChat, SandboxRelation, SandboxStore, SandboxTagGroup } from './store.js';

/**
 * Deterministic demo data for the sandbox corp. Only WeCom-side data lives here (staff, customers,
 * relations, tags, contact ways, group chats); birthdays and orders belong to the bot's own demo seed.
 */

/** Counts after seeding. */
export interface SeedSummary {
  staff: number;
  customers: number;
  relations: number;
  tags: number;
}

import { createPrng } from '../../shared/prng.js';

export { createPrng };

const pick = <T>(rand: () => number, items: readonly T[]): T => items[Math.floor(rand() * items.length)];

/** The demo corp's staff (userids like WeCom's pinyin defaults, 姓名 as user/get returns them). */
export const DEMO_STAFF = [
  { userid: 'zhangsan', name: '张三', position: '客户经理' },
  { userid: 'lisi', name: '李四', position: '客户经理' },
  { userid: 'wangwu', name: '王五', position: '门店店长' },
  { userid: 'zhaoliu', name: '赵六', position: '售后专员' },
  { userid: 'sunqi', name: '孙七', position: '运营主管' },
] as const;

/** The demo tag library: group name → tag names, first group sorts first. */
export const DEMO_TAG_LIBRARY: ReadonlyArray<{ group: string; tags: readonly string[] }> = [
  { group: '客户等级', tags: ['VIP', '普通'] },
  { group: '意向', tags: ['询价', '已购'] },
  { group: '门店', tags: ['北京 门店', '上海'] },
  { group: '来源', tags: ['线下活动', '老客转介绍', '线上广告'] },
];

const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤'.split('');
const GIVEN = '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鑫浩宇轩子涵欣怡梓晨雨萱佳琪思远嘉豪诗雅俊熙若曦一鸣晓东海燕志强建国春梅'.split('');
const COMPANIES = [
  ['腾讯', '腾讯科技（深圳）有限公司'],
  ['阿里', '阿里巴巴（中国）有限公司'],
  ['华为', '华为技术有限公司'],
  ['美团', '北京三快在线科技有限公司'],
] as const;

/** A Chinese personal name: surname plus one or two given characters. */
function chineseName(rand: () => number): string {
  const given = rand() < 0.6 ? pick(rand, GIVEN) + pick(rand, GIVEN) : pick(rand, GIVEN);
  return pick(rand, SURNAMES) + given;
}

/**
 * 32 characters of [A-Za-z0-9] after a prefix, like WeCom's external ids
 * (docs/wecom-protocol.md §Customer contact events).
 */
function wecomLikeId(rand: () => number, prefix: string, length = 32): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = prefix;
  while (s.length < length) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

function ensureStaff(store: SandboxStore): void {
  for (const s of DEMO_STAFF) if (!store.staff.has(s.userid)) store.staff.set(s.userid, { ...s, department: [1] });
}

function ensureTagLibrary(store: SandboxStore, nowS: number): void {
  if (store.tagGroups.some((g) => !g.isDeleted)) return;
  DEMO_TAG_LIBRARY.forEach((spec, gi) => {
    const group: SandboxTagGroup = {
      groupId: store.newId('et'),
      name: spec.group,
      createTime: nowS - 400 * 86400,
      // Larger order sorts first (docs/wecom-protocol.md §Corp tag library), so the first group gets the largest.
      order: (DEMO_TAG_LIBRARY.length - gi) * 10,
      isDeleted: false,
      tags: [],
    };
    spec.tags.forEach((name, ti) => {
      group.tags.push({ id: store.newId('et'), groupId: group.groupId, name, createTime: group.createTime, order: (spec.tags.length - ti) * 10, isDeleted: false });
    });
    store.tagGroups.push(group);
  });
}

function tagIdByName(store: SandboxStore, group: string, name: string): string {
  const g = store.tagGroups.find((x) => x.name === group && !x.isDeleted);
  const t = g?.tags.find((x) => x.name === name && !x.isDeleted);
  if (!t) throw new Error(`demo tag ${group}/${name} missing`);
  return t.id;
}

/** Random per-relation tags: a level for most, an intention for half, sometimes a store and a source. */
function randomTags(store: SandboxStore, rand: () => number): string[] {
  const tags: string[] = [];
  const level = rand();
  if (level < 0.2) tags.push(tagIdByName(store, '客户等级', 'VIP'));
  else if (level < 0.8) tags.push(tagIdByName(store, '客户等级', '普通'));
  if (rand() < 0.5) tags.push(tagIdByName(store, '意向', rand() < 0.6 ? '询价' : '已购'));
  if (rand() < 0.3) tags.push(tagIdByName(store, '门店', rand() < 0.5 ? '北京 门店' : '上海'));
  if (rand() < 0.2) tags.push(tagIdByName(store, '来源', pick(rand, ['线下活动', '老客转介绍', '线上广告'])));
  return tags;
}

function makeCustomer(rand: () => number, externalUserId: string): SandboxCustomer {
  const isWecomUser = rand() < 0.1;
  const company = pick(rand, COMPANIES);
  return {
    externalUserId,
    name: chineseName(rand),
    type: isWecomUser ? 2 : 1,
    gender: pick(rand, [0, 1, 1, 2, 2] as const),
    avatar: `https://wx.qlogo.cn/mmhead/sandbox/${externalUserId}/0`,
    ...(rand() < 0.5 ? { unionid: wecomLikeId(rand, 'oz', 28) } : {}),
    ...(isWecomUser ? { position: pick(rand, ['经理', '采购', '工程师']), corpName: company[0], corpFullName: company[1] } : {}),
  };
}

function makeRelation(store: SandboxStore, rand: () => number, userid: string, externalUserId: string, nowS: number, withTags: boolean): SandboxRelation {
  const addWay = pick(rand, [1, 1, 1, 2, 3, 5, 201]);
  const isCustomerInitiated = addWay === 1 || addWay === 3;
  return {
    seq: store.nextSeq(),
    userid,
    externalUserId,
    remark: rand() < 0.3 ? pick(rand, ['老客户', '重点跟进', '转介绍', '门店会员']) : '',
    description: rand() < 0.2 ? '对接采购事务' : '',
    remarkMobiles: rand() < 0.3 ? [`13${Math.floor(rand() * 1e9).toString().padStart(9, '0')}`] : [],
    // Spread additions over the past year.
    createtime: nowS - Math.floor(rand() * 365 * 86400),
    addWay,
    ...(addWay === 1 ? { state: pick(rand, ['store_bj', 'store_sh', 'event_2025', 'ad_wechat']) } : {}),
    operUserid: isCustomerInitiated ? externalUserId : userid,
    tagIds: withTags ? randomTags(store, rand) : [],
    isDeletedByCustomer: false,
  };
}

function summarise(store: SandboxStore): SeedSummary {
  return { staff: store.staff.size, customers: store.customers.size, relations: store.allRelations().length, tags: store.liveTagCount() };
}

/** The demo corp: 5 staff, a tag library, 200 customers (about a quarter followed by two staff), a contact way and group chats. */
export function seedDemoCorp(store: SandboxStore, nowMs: number): SeedSummary {
  const rand = createPrng(20_260_101);
  const nowS = Math.floor(nowMs / 1000);
  ensureStaff(store);
  ensureTagLibrary(store, nowS);
  const userids = DEMO_STAFF.map((s) => s.userid);
  const customerIds: string[] = [];
  for (let i = 0; i < 200; i++) {
    const customer = makeCustomer(rand, wecomLikeId(rand, 'wm'));
    store.customers.set(customer.externalUserId, customer);
    customerIds.push(customer.externalUserId);
    const owner = userids[i % userids.length];
    store.putRelation(makeRelation(store, rand, owner, customer.externalUserId, nowS, rand() < 0.8));
    if (rand() < 0.25) {
      const second = pick(rand, userids.filter((u) => u !== owner));
      store.putRelation(makeRelation(store, rand, second, customer.externalUserId, nowS, rand() < 0.5));
    }
  }
  const configId = 'cwsandboxdemo0000000000000000001';
  store.contactWays.set(configId, {
    configId,
    type: 1,
    scene: 2,
    remark: '门店前台二维码',
    skipVerify: true,
    state: 'store_bj',
    user: ['zhangsan'],
    party: [],
    isTemp: false,
    createdAtMs: nowMs - 30 * 86400 * 1000,
  });
  const chats: Array<[string, string]> = [
    ['门店VIP客户群', 'zhangsan'],
    ['新品体验群', 'lisi'],
    ['上海会员群', 'wangwu'],
  ];
  chats.forEach(([name, owner], ci) => {
    const chatId = wecomLikeId(rand, 'wr');
    const members = customerIds.slice(ci * 20, ci * 20 + 12);
    const chat: SandboxGroupChat = {
      chatId,
      name,
      owner,
      createTime: nowS - 90 * 86400,
      notice: '文明沟通，拒绝广告',
      status: 0,
      members: [
        { userid: owner, type: 1, joinTime: nowS - 90 * 86400, joinScene: 1, groupNickname: '', name: DEMO_STAFF.find((s) => s.userid === owner)?.name ?? owner },
        ...members.map((id) => ({
          userid: id,
          type: 2 as const,
          joinTime: nowS - Math.floor(rand() * 80 * 86400),
          joinScene: pick(rand, [1, 2, 3]),
          invitor: owner,
          groupNickname: '',
          name: store.customers.get(id)?.name ?? '',
        })),
      ],
      admins: [],
    };
    store.groupChats.set(chatId, chat);
  });
  return summarise(store);
}

/** Add `n` customers fast for sync tests (20,000 in the sync test): one relation each, round-robin over staff, light tagging. */
export function seedLargeCorp(store: SandboxStore, nowMs: number, n: number): SeedSummary {
  const rand = createPrng(7_919 + n);
  const nowS = Math.floor(nowMs / 1000);
  ensureStaff(store);
  ensureTagLibrary(store, nowS);
  const userids = [...store.staff.keys()];
  const start = store.customers.size;
  for (let i = 0; i < n; i++) {
    // The index keeps ids unique however many times this runs; the random tail makes them look real.
    const externalUserId = wecomLikeId(rand, `wmL${(start + i).toString(36).padStart(6, '0')}`);
    store.customers.set(externalUserId, makeCustomer(rand, externalUserId));
    store.putRelation(makeRelation(store, rand, userids[i % userids.length], externalUserId, nowS, rand() < 0.5));
  }
  return summarise(store);
}
