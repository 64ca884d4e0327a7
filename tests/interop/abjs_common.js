// What the autobahn-js interop scripts (abjs_suite.js, abjs_auth_meta.js) share: their command
// line (URL REALM SERIALIZER [CHECK ...]), connection options, timeouts, expectations and the
// runner that prints "PASS name" / "FAIL name: why" per check and "N passed, M failed".
'use strict';
const autobahn = require('autobahn');

const [URL, REALM, SERIALIZER, ...ONLY] = process.argv.slice(2);
const TIMEOUT = 10000;

function serializers() {
  switch (SERIALIZER) {
    case 'json': return [new autobahn.serializer.JSONSerializer()];
    case 'msgpack': return [new autobahn.serializer.MsgpackSerializer()];
    case 'cbor': return [new autobahn.serializer.CBORSerializer()];
    default: throw new Error('unknown serializer ' + SERIALIZER);
  }
}

function withTimeout(p, what) {
  let t;
  const timer = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error('timeout: ' + what)), TIMEOUT);
  });
  return Promise.race([p, timer]).finally(() => clearTimeout(t));
}

// autobahn.Connection options for URL (ws://... or tcp://... for RawSocket, JSON only there).
function options(extra) {
  let opts;
  if (URL.startsWith('tcp://')) {
    const u = new globalThis.URL(URL);
    opts = { transports: [{ type: 'rawsocket', host: u.hostname, port: Number(u.port) }] };
  } else {
    opts = { url: URL, serializers: serializers() };
  }
  return Object.assign(opts, { realm: REALM, max_retries: 0 }, extra || {});
}

function leave(s) {
  return new Promise((resolve) => {
    s._conn.onclose = () => { resolve(); return true; };
    s._conn.close();
  });
}

function expect(cond, what) { if (!cond) throw new Error('expectation failed: ' + what); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// Runs `checks` (name -> async fn), or those named on the command line; `after` runs after
// each. Exits non-zero when a check failed.
async function run(label, checks, after) {
  let passed = 0; let failed = 0;
  for (const [name, fn] of Object.entries(checks)) {
    if (ONLY.length && !ONLY.includes(name)) continue;
    try {
      await withTimeout(fn(), name);
      console.log('PASS ' + name); passed++;
    } catch (e) {
      console.log('FAIL ' + name + ': ' + (e && e.stack ? e.stack.split('\n')[0] : e)); failed++;
    }
    if (after) await after();
  }
  console.log(`${label} ${URL} ${SERIALIZER}: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

module.exports = {
  autobahn, URL, REALM, SERIALIZER, TIMEOUT,
  serializers, withTimeout, options, leave, expect, sleep, same, run,
};
