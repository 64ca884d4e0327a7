// Interop suite: autobahn-js (Node) clients against OUR router's authentication methods,
// authorization and meta API (the JS twin of ab_auth_meta.py).
//
// Usage: node abjs_auth_meta.js URL REALM SERIALIZER [CHECK ...]
// URL is ws://host:port/path, or tcp://host:port for RawSocket (autobahn-js speaks JSON only
// there). SERIALIZER is json, msgpack or cbor. Prints "PASS name" / "FAIL name: why" per check
// and closes with "N passed, M failed"; exits non-zero when a check failed.
//
// The router must serve REALM as tests/it/interop/ours_auth_meta.rs configures it:
// - anonymous, ticket, wampcra, cryptosign (and scram) with static principals:
//   ticket `joe`/`joe-ticket` (role `user`); ticket `guest`/`guest-ticket` (role `guest`);
//   wampcra `cra`/`cra-secret` (role `user`); wampcra salted `salty` with password
//   `salty-secret` (salt `salt123`, 1000 iterations, keylen 32, role `user`); cryptosign `dev`
//   with the key of seed 0x01 * 32 (role `device`);
// - roles `anonymous`, `user`, `device`: everything allowed; role `guest`: subscribe and
//   publish anything, call only `com.interop.public`;
// - an event history for `com.interop.hist` (exact).
//
// Not covered: SCRAM. autobahn-js 22.11.1 does not implement it (its lib/auth has only
// WAMP-CRA, cryptosign and the obsolete Mozilla Persona); ab_auth_meta.py covers it.
'use strict';
const {
  autobahn, options, withTimeout, leave, expect, sleep, same, run,
} = require('./abjs_common');
// The cryptosign key of `dev`: the Ed25519 key pair of the seed 0x01 * 32 (autobahn-js
// exports the tweetnacl it signs with).
const DEV_KEY = autobahn.nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(1));
const OTHER_KEY = autobahn.nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(2));
const DEV_PUBKEY = '8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c';

// Every connection a check opened, closed after it (so a failed check leaves no session
// behind to disturb the next one's counts).
const OPEN = new Set();

async function closeAll() {
  const conns = [...OPEN];
  OPEN.clear();
  for (const conn of conns) {
    if (!conn._transport) continue; // already closed
    await withTimeout(new Promise((resolve) => {
      conn.onclose = () => { resolve(); return true; };
      conn.close();
    }), 'close').catch(() => {});
  }
}

// Joins; resolves with the session (`s.details`: the WELCOME details, `s.left`: a promise of
// the close details once the session ends).
function connect(extra) {
  return withTimeout(new Promise((resolve, reject) => {
    const conn = new autobahn.Connection(options(extra));
    OPEN.add(conn);
    let leftResolve;
    const left = new Promise((r) => { leftResolve = r; });
    let joined = false;
    conn.onopen = (session, details) => {
      joined = true;
      session._conn = conn;
      session.details = details;
      session.left = left;
      resolve(session);
    };
    conn.onclose = (reason, details) => {
      if (joined) leftResolve(details);
      else reject(new Error('closed: ' + reason + ' ' + JSON.stringify(details)));
      return true;
    };
    conn.open();
  }), 'join');
}

// Tries to join; resolves with the ABORT reason (fails if the session joins).
function refused(extra) {
  return withTimeout(new Promise((resolve, reject) => {
    const conn = new autobahn.Connection(options(extra));
    OPEN.add(conn);
    conn.onopen = (session, details) => {
      reject(new Error('joined as ' + details.authid + ', expected a refusal'));
      conn.close();
    };
    conn.onclose = (reason, details) => { resolve(details.reason); return true; };
    conn.open();
  }), 'refusal');
}

// The error URI a call fails with (fails if it succeeds).
async function callError(s, procedure, args) {
  try {
    const r = await s.call(procedure, args || []);
    throw new Error(procedure + ' succeeded: ' + JSON.stringify(r));
  } catch (e) {
    if (e instanceof Error) throw e;
    return e.error;
  }
}

const identity = (s) =>
  [s.details.authid, s.details.authrole, s.details.authmethod, s.details.authprovider];
const sorted = (a) => [...a].sort((x, y) => x - y);

// Polls `cond` until it holds (events arrive after the call that caused them returned).
async function eventually(cond, what) {
  for (let i = 0; i < 100; i++) {
    if (cond()) return;
    await sleep(20);
  }
  throw new Error('never: ' + what);
}

function ticket(authid, secret) {
  return {
    authmethods: ['ticket'],
    authid,
    onchallenge: (session, method) => {
      if (method !== 'ticket') throw new Error('unexpected challenge ' + method);
      return secret;
    },
  };
}

function wampcra(authid, secret, seen) {
  return {
    authmethods: ['wampcra'],
    authid,
    onchallenge: (session, method, extra) => {
      if (method !== 'wampcra') throw new Error('unexpected challenge ' + method);
      if (seen) seen.push(extra);
      let key = secret;
      if (extra.salt) {
        key = autobahn.auth_cra.derive_key(secret, extra.salt, extra.iterations, extra.keylen);
      }
      return autobahn.auth_cra.sign(key, extra.challenge);
    },
  };
}

function cryptosign(authid, pkey) {
  const o = {
    authmethods: ['cryptosign'],
    authextra: { pubkey: autobahn.auth_cryptosign.public_key(pkey) },
    onchallenge: (session, method, extra) => {
      if (method !== 'cryptosign') throw new Error('unexpected challenge ' + method);
      return autobahn.auth_cryptosign.sign_challenge(pkey, extra);
    },
  };
  if (authid) o.authid = authid;
  return o;
}

const CHECKS = {
  // -- authentication ------------------------------------------------------------------------

  async auth_ticket() {
    const s = await connect(ticket('joe', 'joe-ticket'));
    expect(same(identity(s), ['joe', 'user', 'ticket', 'static']), identity(s));
    await leave(s);
    let reason = await refused(ticket('joe', 'guess'));
    expect(reason === 'wamp.error.authentication_failed', reason);
    reason = await refused(ticket('nobody', 'joe-ticket'));
    expect(reason === 'wamp.error.authentication_failed', reason);
  },
  async auth_wampcra() {
    const seen = [];
    const s = await connect(wampcra('cra', 'cra-secret', seen));
    expect(same(identity(s), ['cra', 'user', 'wampcra', 'static']), identity(s));
    expect(seen.length === 1 && !seen[0].salt, 'plain challenge ' + JSON.stringify(seen));
    await leave(s);
    let reason = await refused(wampcra('cra', 'wrong'));
    expect(reason === 'wamp.error.authentication_failed', reason);
    reason = await refused(wampcra('nobody', 'x'));
    expect(reason === 'wamp.error.authentication_failed', reason);
  },
  async auth_wampcra_salted() {
    const seen = [];
    const s = await connect(wampcra('salty', 'salty-secret', seen));
    expect(same(identity(s), ['salty', 'user', 'wampcra', 'static']), identity(s));
    const x = seen[0] || {};
    expect(x.salt === 'salt123' && x.iterations === 1000 && x.keylen === 32,
      'salt parameters ' + JSON.stringify(x));
    await leave(s);
    const reason = await refused(wampcra('salty', 'wrong'));
    expect(reason === 'wamp.error.authentication_failed', reason);
  },
  async auth_cryptosign() {
    expect(autobahn.auth_cryptosign.public_key(DEV_KEY) === DEV_PUBKEY, 'dev public key');
    let s = await connect(cryptosign('dev', DEV_KEY));
    expect(same(identity(s), ['dev', 'device', 'cryptosign', 'static']), identity(s));
    await leave(s);
    // Without authid: the public key (authextra.pubkey) names the principal.
    s = await connect(cryptosign(null, DEV_KEY));
    expect(same(identity(s), ['dev', 'device', 'cryptosign', 'static']), identity(s));
    await leave(s);
    let reason = await refused(cryptosign('dev', OTHER_KEY));
    expect(reason === 'wamp.error.authentication_failed', reason);
    reason = await refused(cryptosign(null, OTHER_KEY));
    expect(reason === 'wamp.error.authentication_failed', reason);
  },
  async auth_anonymous() {
    const s = await connect({ authmethods: ['anonymous'] });
    expect(s.details.authmethod === 'anonymous' && s.details.authrole === 'anonymous',
      identity(s));
    expect(s.details.authid === String(s.id), identity(s) + ' for session ' + s.id);
    await leave(s);
  },
  async auth_method_choice() {
    // The router takes the first method of HELLO.authmethods that the realm offers, skipping
    // names it does not know; none left: ABORT wamp.error.no_auth_method (Autobahn's URI).
    const o = ticket('joe', 'joe-ticket');
    o.authmethods = ['x-unknown-method', 'ticket', 'wampcra'];
    const s = await connect(o);
    expect(same(identity(s), ['joe', 'user', 'ticket', 'static']), identity(s));
    await leave(s);
    o.authmethods = ['x-unknown-method'];
    const reason = await refused(o);
    expect(reason === 'wamp.error.no_auth_method', reason);
  },

  // -- authorization -------------------------------------------------------------------------

  async authz_role_without_call_permission() {
    const callee = await connect(ticket('joe', 'joe-ticket'));
    await callee.register('com.interop.public', () => 'public');
    await callee.register('com.interop.private', () => 'private');
    const g = await connect(ticket('guest', 'guest-ticket'));
    expect(same(identity(g), ['guest', 'guest', 'ticket', 'static']), identity(g));
    expect(await g.call('com.interop.public') === 'public', 'allowed call');
    let e = await callError(g, 'com.interop.private');
    expect(e === 'wamp.error.not_authorized', 'call ' + e);
    e = await callError(g, 'wamp.session.count');
    expect(e === 'wamp.error.not_authorized', 'meta call ' + e);
    try {
      await g.register('com.interop.guest.proc', () => 1);
      throw new Error('register succeeded');
    } catch (err) {
      if (err instanceof Error) throw err;
      expect(err.error === 'wamp.error.not_authorized', 'register ' + err.error);
    }
    const sub = await g.subscribe('com.interop.guest.topic', () => {});
    expect(sub.id >= 1, 'allowed subscribe');
    await leave(g); await leave(callee);
  },

  // -- session meta API ----------------------------------------------------------------------

  async meta_session_events_and_procedures() {
    const w = await connect();
    const joins = []; const leaves = [];
    await w.subscribe('wamp.session.on_join', (args) => joins.push(args[0]));
    await w.subscribe('wamp.session.on_leave', (args) => leaves.push(args[0]));
    const j = await connect(ticket('joe', 'joe-ticket'));
    const sid = j.id;
    await eventually(() => joins.length > 0, 'on_join');
    expect(same(joins.map((d) => d.session), [sid]), 'on_join ' + JSON.stringify(joins));
    expect(joins[0].authid === 'joe' && joins[0].authrole === 'user' &&
      joins[0].authmethod === 'ticket', 'on_join details ' + JSON.stringify(joins[0]));
    const n = await w.call('wamp.session.count');
    expect(n === 2, 'count ' + n);
    expect(await w.call('wamp.session.count', [['user']]) === 1, 'count of users');
    const ids = await w.call('wamp.session.list');
    expect(same(sorted(ids), sorted([sid, w.id])), 'list ' + JSON.stringify(ids));
    const users = await w.call('wamp.session.list', [['user']]);
    expect(same(users, [sid]), 'list of users ' + JSON.stringify(users));
    const info = await w.call('wamp.session.get', [sid]);
    expect(info.session === sid && info.authid === 'joe' && info.authrole === 'user' &&
      info.authmethod === 'ticket' && info.authprovider === 'static',
      'get ' + JSON.stringify(info));
    expect(info.transport && typeof info.transport === 'object', 'get: transport ' +
      JSON.stringify(info));
    const e = await callError(w, 'wamp.session.get', [1]);
    expect(e === 'wamp.error.no_such_session', e);
    await leave(j);
    await eventually(() => leaves.length > 0, 'on_leave');
    expect(same(leaves, [sid]), 'on_leave ' + JSON.stringify(leaves));
    expect(await w.call('wamp.session.count') === 1, 'count after leave');
    await leave(w);
  },
  async meta_kill() {
    const w = await connect(); const v = await connect();
    const e = await callError(w, 'wamp.session.kill', [w.id]);
    expect(e === 'wamp.error.no_such_session', 'killing oneself: ' + e);
    await w.call('wamp.session.kill', [v.id], { message: 'bye' });
    const details = await withTimeout(v.left, 'killed');
    expect(details.reason === 'wamp.close.killed' && details.message === 'bye',
      'kill ' + JSON.stringify(details));
    const killed = await w.call('wamp.session.kill_by_authid', ['nobody']);
    expect(same(killed, []), 'kill_by_authid ' + JSON.stringify(killed));
    await leave(w);
  },

  // -- registration and subscription meta API -------------------------------------------------

  async meta_registrations() {
    const w = await connect();
    const events = [];
    for (const t of ['wamp.registration.on_create', 'wamp.registration.on_register']) {
      await w.subscribe(t, (args) => events.push([t, args]));
    }
    const c = await connect();
    const reg = await c.register('com.interop.meta.proc', () => 1);
    await eventually(() => events.length >= 2, 'registration meta events');
    expect(same(events.map((e) => e[0]),
      ['wamp.registration.on_create', 'wamp.registration.on_register']), 'event order');
    expect(events[0][1][0] === c.id && events[0][1][1].id === reg.id &&
      events[0][1][1].uri === 'com.interop.meta.proc', 'on_create ' + JSON.stringify(events[0]));
    expect(same(events[1][1], [c.id, reg.id]), 'on_register ' + JSON.stringify(events[1]));
    let r = await w.call('wamp.registration.lookup', ['com.interop.meta.proc']);
    expect(r === reg.id, 'lookup ' + r);
    r = await w.call('wamp.registration.lookup', ['com.interop.meta.nothing']);
    expect(r === null, 'lookup of nothing ' + r);
    r = await w.call('wamp.registration.match', ['com.interop.meta.proc']);
    expect(r === reg.id, 'match ' + r);
    const got = await w.call('wamp.registration.get', [reg.id]);
    expect(got.uri === 'com.interop.meta.proc' && got.match === 'exact', JSON.stringify(got));
    r = await w.call('wamp.registration.list_callees', [reg.id]);
    expect(same(r, [c.id]), 'list_callees ' + JSON.stringify(r));
    r = await w.call('wamp.registration.count_callees', [reg.id]);
    expect(r === 1, 'count_callees ' + r);
    await leave(c);
    // Registration IDs are router-scope and sequential: ask for the deleted one.
    const e = await callError(w, 'wamp.registration.list_callees', [reg.id]);
    expect(e === 'wamp.error.no_such_registration', 'deleted registration: ' + e);
    await leave(w);
  },
  async meta_subscriptions() {
    const w = await connect();
    const c = await connect(); const d = await connect();
    const sub = await c.subscribe('com.interop.meta.topic', () => {});
    const sub2 = await d.subscribe('com.interop.meta.topic', () => {});
    expect(sub.id === sub2.id, 'one subscription for both');
    let r = await w.call('wamp.subscription.lookup', ['com.interop.meta.topic']);
    expect(r === sub.id, 'lookup ' + r);
    r = await w.call('wamp.subscription.lookup', ['com.interop.meta'], { match: 'prefix' });
    expect(r === null, 'lookup of a prefix nobody subscribed ' + r);
    r = await w.call('wamp.subscription.list_subscribers', [sub.id]);
    expect(same(sorted(r), sorted([c.id, d.id])), 'list_subscribers ' + JSON.stringify(r));
    r = await w.call('wamp.subscription.count_subscribers', [sub.id]);
    expect(r === 2, 'count_subscribers ' + r);
    r = await w.call('wamp.subscription.match', ['com.interop.meta.topic']);
    expect(same(r, [sub.id]), 'match ' + JSON.stringify(r));
    const lst = await w.call('wamp.subscription.list');
    expect(lst.exact.includes(sub.id), 'list ' + JSON.stringify(lst));
    await leave(d);
    r = await w.call('wamp.subscription.list_subscribers', [sub.id]);
    expect(same(r, [c.id]), 'list_subscribers after a leave ' + JSON.stringify(r));
    await leave(c);
    const e = await callError(w, 'wamp.subscription.list_subscribers', [sub.id]);
    expect(e === 'wamp.error.no_such_subscription', 'deleted subscription: ' + e);
    await leave(w);
  },
  async meta_testament() {
    const w = await connect();
    const got = [];
    await w.subscribe('com.interop.will', (args, kwargs) => got.push([args, kwargs]));
    const c = await connect();
    await c.call('wamp.session.add_testament', ['com.interop.will', ['gone'], { who: 'c' }]);
    c._conn._transport.close(); // no GOODBYE: the transport just goes
    await eventually(() => got.length > 0, 'testament');
    expect(same(got, [[['gone'], { who: 'c' }]]), 'testament ' + JSON.stringify(got));
    await leave(w);
  },
  async meta_event_history() {
    const w = await connect();
    const sub = await w.subscribe('com.interop.hist', () => {});
    const p = await connect();
    for (let i = 0; i < 3; i++) {
      await p.publish('com.interop.hist', [i], {}, { acknowledge: true });
    }
    const events = await w.call('wamp.subscription.get_events', [sub.id, 2]);
    expect(same(events.map((e) => e.args), [[1], [2]]), 'events ' + JSON.stringify(events));
    await leave(p); await leave(w);
  },
};

run('autobahn-js auth/meta', CHECKS, closeAll);
