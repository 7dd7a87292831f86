// The app's box: one method (`hello`), one room (`greetings`), one store (`main.greetings`) and a
// page (static/index.html). Every worker of every server loads it.
import { randomUUID } from 'node:crypto';
import { defineBox } from 'boxwire';

export default defineBox({
  name: 'main',
  static: 'static',
  rooms: ['greetings'],

  methods: {
    /** Greets `name`, remembers the greeting for an hour and tells everyone in the room. */
    async hello(data: { name?: unknown } | null, { box }) {
      const name = typeof data?.name === 'string' && data.name.trim() ? data.name.trim().slice(0, 40) : 'world';
      const greetings = box.SHARED_STORE('greetings');
      await greetings.save({ id: randomUUID(), data: { name, at: new Date().toISOString() }, removeAfterSeconds: 3600 });
      const count = await greetings.count();
      box.room('greetings').push('greeted', { name, count });
      return { message: `Hello, ${name}!`, count };
    },
  },
});
