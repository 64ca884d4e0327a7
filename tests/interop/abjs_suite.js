// Interop suite: autobahn-js (Node) clients against a WAMP router.
//
// Usage: node abjs_suite.js URL REALM SERIALIZER [CHECK ...]
// URL is ws://host:port/path, or tcp://host:port for RawSocket (autobahn-js speaks JSON only
// there). SERIALIZER is json, msgpack or cbor. Prints "PASS name" / "FAIL name: why" per check
// and closes with "N passed, M failed"; exits non-zero when a check failed.
'use strict';
const {
  autobahn, options, withTimeout, leave, expect, sleep, same, run,
} = require('./abjs_common');

function connect(extra) {
  return withTimeout(new Promise((resolve, reject) => {
    const opts = options(extra);
    const conn = new autobahn.Connection(opts);
    conn.onopen = (session) => { session._conn = conn; resolve(session); };
    conn.onclose = (reason, details) => { reject(new Error('closed: ' + reason)); return true; };
    conn.open();
  }), 'join');
}


const CHECKS = {
  async join_and_leave() {
    const s = await connect();
    expect(s.id >= 1 && s.id <= 2 ** 53, 'session id in range');
    await leave(s);
  },
  async rpc_args_kwargs() {
    const callee = await connect(); const caller = await connect();
    await callee.register('com.interop.js.echo', (args, kwargs) =>
      new autobahn.Result(args, kwargs));
    const payload = ['text', 42, -7, 2 ** 53, 1.5, true, null, [1, [2]], { nested: { x: 'ü' } }];
    const res = await caller.call('com.interop.js.echo', payload, { key: 'value' });
    expect(same(res.args, payload), 'args ' + JSON.stringify(res.args));
    expect(same(res.kwargs, { key: 'value' }), 'kwargs');
    await leave(callee); await leave(caller);
  },
  async rpc_application_error() {
    const callee = await connect(); const caller = await connect();
    await callee.register('com.interop.js.fail', () => {
      throw new autobahn.Error('com.interop.error.custom', ['detail'], { code: 7 });
    });
    try {
      await caller.call('com.interop.js.fail');
      throw new Error('call should fail');
    } catch (e) {
      expect(e.error === 'com.interop.error.custom', 'error uri ' + e.error);
      expect(same(e.args, ['detail']) && same(e.kwargs, { code: 7 }), 'error payload');
    }
    await leave(callee); await leave(caller);
  },
  async rpc_no_such_procedure() {
    const s = await connect();
    try {
      await s.call('com.interop.js.nobody');
      throw new Error('call should fail');
    } catch (e) {
      expect(e.error === 'wamp.error.no_such_procedure', e.error);
    }
    await leave(s);
  },
  async rpc_progressive_results() {
    const callee = await connect(); const caller = await connect();
    await callee.register('com.interop.js.count', (args, kwargs, details) => {
      for (let i = 0; i < args[0]; i++) {
        if (details.progress) details.progress([i]);
      }
      return args[0];
    });
    const seen = [];
    const res = await caller.call('com.interop.js.count', [3], {}, {
      receive_progress: true,
    }).then((r) => r, null, (p) => seen.push(p));
    expect(res === 3, 'final result ' + JSON.stringify(res));
    expect(same(seen, [0, 1, 2]), 'progress ' + JSON.stringify(seen));
    await leave(callee); await leave(caller);
  },
  async pubsub_basic_ack() {
    const sub = await connect(); const pub = await connect();
    const got = new Promise((resolve) => {
      sub.subscribe('com.interop.js.topic', (args, kwargs) => resolve([args, kwargs]));
    });
    await sleep(100);
    const p = await pub.publish('com.interop.js.topic', [1, 'two'], { x: 'y' },
      { acknowledge: true });
    expect(p.id >= 1 && p.id <= 2 ** 53, 'publication id');
    const [args, kwargs] = await withTimeout(got, 'event');
    expect(same(args, [1, 'two']) && same(kwargs, { x: 'y' }), 'event payload');
    await leave(sub); await leave(pub);
  },
  async pubsub_exclude_me_false() {
    const s = await connect();
    const got = [];
    await s.subscribe('com.interop.js.self', () => got.push(1));
    await s.publish('com.interop.js.self', [], {}, { acknowledge: true });
    await s.publish('com.interop.js.self', [], {}, { acknowledge: true, exclude_me: false });
    await sleep(300);
    expect(same(got, [1]), 'got ' + JSON.stringify(got));
    await leave(s);
  },
  async pubsub_prefix_topic_detail() {
    const sub = await connect(); const pub = await connect();
    const got = new Promise((resolve) => {
      sub.subscribe('com.interop.js.pfx', (a, k, details) => resolve(details.topic),
        { match: 'prefix' });
    });
    await sleep(100);
    await pub.publish('com.interop.js.pfx.deep', [], {}, { acknowledge: true });
    const topic = await withTimeout(got, 'event');
    expect(topic === 'com.interop.js.pfx.deep', 'topic ' + topic);
    await leave(sub); await leave(pub);
  },
};

run('autobahn-js', CHECKS);
