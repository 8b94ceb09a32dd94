// The sidebar's JS-SDK test mode, served only when the built-in sandbox plays WeCom (docs/todo.md §One-tap send).
// Opened with ?wwTest=1 (and ?externalUserId= or ?chatId=), the page behaves as inside the WeCom client: `ww.register`
// has its two signatures checked by the sandbox the way the client does, getContext / getCurExternalContact /
// getCurExternalChat answer from the address, and ww.sendChatMessage hands the message to the sandbox, which checks it
// as the client does (media ids it issued, under 3 days old) and keeps it (GET /sandbox/_control/jssdk/chat-messages)
// instead of posting it into a chat.
(() => {
  'use strict';
  const params = new URLSearchParams(location.search);
  if (params.get('wwTest') !== '1' || typeof window.ww !== 'object') return;
  window.__woWwTest = true;
  const post = async (path, body) => {
    const res = await fetch(`/sandbox/_control/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw Object.assign(new Error(data?.error?.message || `HTTP ${res.status}`), { errMsg: `${path}:fail` });
    return data;
  };
  let registered = null;
  const externalUserId = params.get('externalUserId');
  const chatId = params.get('chatId');
  /** Both signatures of this page's URL, verified as the WeCom client would (40093: a wrong ticket signed it). */
  async function verify(reg) {
    const url = location.href.split('#')[0];
    const [config, agentConfig] = await Promise.all([reg.getConfigSignature(url), reg.getAgentConfigSignature(url)]);
    for (const [kind, sig] of [['config', config], ['agentConfig', agentConfig]]) {
      const r = await post('jssdk/verify', { kind, url, timestamp: sig.timestamp, nonceStr: sig.nonceStr, signature: sig.signature });
      if (!r.ok) throw Object.assign(new Error(`${kind}:fail, errcode ${r.errcode}`), { errMsg: `${kind}:fail` });
    }
  }
  const ready = () => {
    if (!registered) throw Object.assign(new Error('ww.register was not called'), { errMsg: 'register:fail' });
    return registered;
  };
  Object.assign(window.ww, {
    register(reg) {
      registered = verify(reg);
      registered.catch(() => undefined);
    },
    async getContext() {
      await ready();
      return { entry: params.get('entry') || (chatId ? 'group_chat_tools' : 'single_chat_tools'), errMsg: 'getContext:ok' };
    },
    async getCurExternalContact() {
      await ready();
      if (!externalUserId) throw Object.assign(new Error('not in a customer chat'), { errMsg: 'getCurExternalContact:fail' });
      return { userId: externalUserId, errMsg: 'getCurExternalContact:ok' };
    },
    async getCurExternalChat() {
      await ready();
      if (!chatId) throw Object.assign(new Error('not in a group chat'), { errMsg: 'getCurExternalChat:fail' });
      return { chatId, errMsg: 'getCurExternalChat:ok' };
    },
    async sendChatMessage(message) {
      await ready();
      const { enterChat: _enterChat, ...rest } = message;
      // Refused as the client refuses (a media id it never issued or older than 3 days): `sendChatMessage:fail …`.
      return post('jssdk/chat-message', { externalUserId, chatId, message: rest }).catch((err) => {
        throw Object.assign(new Error(err.message), { errMsg: err.message.startsWith('sendChatMessage:') ? err.message : `sendChatMessage:fail ${err.message}` });
      });
    },
  });
})();
