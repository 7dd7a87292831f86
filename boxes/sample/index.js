// The sample box (plain ESM, no build step): a live counter kept in a SHARED_STORE, a chat room,
// and file upload/download. `npm start` serves it; the browser tests drive it.
const MAX_CHAT_TEXT = 500;

export default {
  name: 'sample',
  static: 'static',
  rooms: ['counter', 'chat'],

  async onBoot(box) {
    // create, not get-then-save: it never overwrites a counter the cluster already holds (a
    // restarted server, or several servers booting at once, all run this).
    await box.SHARED_STORE('counter').create({ id: 'clicks', data: { value: 0 } });
  },

  methods: {
    async getCounter(_data, { box }) {
      return (await box.SHARED_STORE('counter').get('clicks'))?.value ?? 0;
    },

    /** Adds `by` (1 by default) and pushes the new value to every client in the counter room. */
    async increment(data, { box }) {
      const by = Number.isInteger(data?.by) && Math.abs(data.by) <= 1000 ? data.by : 1;
      const counter = box.SHARED_STORE('counter');
      const add = () => counter.update({ id: 'clicks', data: { $inc: { value: by } } });
      // Someone removed the counter: start it again (create, so concurrent callers share one).
      const updated = (await add()) ?? ((await counter.create({ id: 'clicks', data: { value: 0 } })), await add());
      box.room('counter').push('value', { value: updated.value });
      return updated.value;
    },

    /** Sends a chat line to everyone in the chat room, on every API server. */
    async say(data, { box, client }) {
      const text = typeof data?.text === 'string' ? data.text.trim().slice(0, MAX_CHAT_TEXT) : '';
      if (!text) throw Object.assign(new Error('say needs { text }'), { status: 400, code: 'BAD_INPUT' });
      const name = typeof data?.name === 'string' && data.name.trim() ? data.name.trim().slice(0, 40) : `guest-${client.id.slice(0, 4)}`;
      const line = { name, text, at: new Date().toISOString() };
      box.room('chat').push('line', line);
      return line;
    },
  },
};
