"""Interop suite: autobahn-python (asyncio) clients against OUR router's authentication and
meta API.

Usage: python ab_auth_meta.py URL REALM SERIALIZER [CHECK ...]

The router must serve REALM with (see tests/it/interop/ours_auth_meta.rs):
- anonymous, ticket, wampcra, cryptosign and scram, static principals:
  ticket `joe`/`joe-ticket` (role `user`); wampcra `cra`/`cra-secret` (role `user`);
  wampcra salted `salty` with password `salty-secret` (salt `salt123`, 1000 iterations,
  keylen 32, role `user`); cryptosign `dev` with the key of seed 0x01 * 32 (role `device`);
  scram `sam`/`sam-password` (argon2id, role `user`);
- an event history for `com.interop.hist` (exact);
- roles `anonymous`, `user` and `device` allowed everything (the realm's other roles and
  principals serve abjs_auth_meta.js).
Prints one line per check ("PASS name" or "FAIL name: why") and "N passed, M failed".
"""

import asyncio
import binascii
import sys
import traceback

from autobahn.asyncio.component import Component
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import PublishOptions, SubscribeOptions

URL, REALM, SERIALIZER = sys.argv[1], sys.argv[2], sys.argv[3]
ONLY = set(sys.argv[4:])
TIMEOUT = 10.0
DEV_SEED = binascii.b2a_hex(b"\x01" * 32).decode()


def transport():
    if URL.startswith("rs://"):
        return {"type": "rawsocket", "url": URL, "serializer": SERIALIZER, "max_retries": 0}
    return {"type": "websocket", "url": URL, "serializers": [SERIALIZER], "max_retries": 0}


class Joined:
    def __init__(self, comp, session, details):
        self.comp, self.session, self.details = comp, session, details
        self.left = asyncio.get_running_loop().create_future()


async def connect(authentication=None):
    """Joins and returns a Joined (session, WELCOME details, future of the leave reason)."""
    loop = asyncio.get_running_loop()
    joined = loop.create_future()
    kwargs = {}
    if authentication is not None:
        kwargs["authentication"] = authentication
    comp = Component(transports=[transport()], realm=REALM, **kwargs)
    holder = {}

    @comp.on_join
    async def _joined(session, details):
        j = Joined(comp, session, details)
        holder["j"] = j
        if not joined.done():
            joined.set_result(j)

    @comp.on_leave
    async def _left(session, details):
        j = holder.get("j")
        if j is not None and not j.left.done():
            j.left.set_result(details.reason)
        if not joined.done():
            joined.set_exception(RuntimeError("left before join: %s" % details.reason))

    @comp.on_disconnect
    async def _gone(session, was_clean=True):
        if not joined.done():
            joined.set_exception(RuntimeError("disconnected before join"))

    comp.start(loop)
    return await asyncio.wait_for(joined, TIMEOUT)


async def refused(authentication):
    """Tries to join; returns the ABORT reason (fails if the session joins)."""
    loop = asyncio.get_running_loop()
    result = loop.create_future()
    comp = Component(transports=[transport()], realm=REALM, authentication=authentication)

    @comp.on_join
    async def _joined(session, details):
        if not result.done():
            result.set_exception(AssertionError("joined, expected a refusal"))
        await session.leave()

    @comp.on_leave
    async def _left(session, details):
        if not result.done():
            result.set_result(details.reason)

    @comp.on_disconnect
    async def _gone(session, was_clean=True):
        if not result.done():
            result.set_result("disconnected")

    comp.start(loop)
    return await asyncio.wait_for(result, TIMEOUT)


CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def identity(j):
    d = j.details
    return (d.authid, d.authrole, d.authmethod, d.authprovider)


# -- authentication --------------------------------------------------------------------------

@check
async def auth_ticket():
    j = await connect({"ticket": {"authid": "joe", "ticket": "joe-ticket"}})
    expect(identity(j) == ("joe", "user", "ticket", "static"), identity(j))
    await j.session.leave()
    reason = await refused({"ticket": {"authid": "joe", "ticket": "guess"}})
    expect(reason == "wamp.error.authentication_failed", reason)


@check
async def auth_wampcra():
    j = await connect({"wampcra": {"authid": "cra", "secret": "cra-secret"}})
    expect(identity(j) == ("cra", "user", "wampcra", "static"), identity(j))
    await j.session.leave()
    reason = await refused({"wampcra": {"authid": "cra", "secret": "wrong"}})
    expect(reason == "wamp.error.authentication_failed", reason)
    reason = await refused({"wampcra": {"authid": "nobody", "secret": "x"}})
    expect(reason == "wamp.error.authentication_failed", reason)


@check
async def auth_wampcra_salted():
    j = await connect({"wampcra": {"authid": "salty", "secret": "salty-secret"}})
    expect(identity(j) == ("salty", "user", "wampcra", "static"), identity(j))
    await j.session.leave()


@check
async def auth_cryptosign():
    j = await connect({"cryptosign": {"authid": "dev", "privkey": DEV_SEED}})
    expect(identity(j) == ("dev", "device", "cryptosign", "static"), identity(j))
    await j.session.leave()
    # Without authid: the public key names the principal.
    j = await connect({"cryptosign": {"privkey": DEV_SEED}})
    expect(j.details.authid == "dev", identity(j))
    await j.session.leave()
    other = binascii.b2a_hex(b"\x02" * 32).decode()
    reason = await refused({"cryptosign": {"authid": "dev", "privkey": other}})
    expect(reason == "wamp.error.authentication_failed", reason)


@check
async def auth_scram():
    j = await connect({"scram": {"authid": "sam", "password": "sam-password"}})
    expect(identity(j) == ("sam", "user", "scram", "static"), identity(j))
    await j.session.leave()
    reason = await refused({"scram": {"authid": "sam", "password": "wrong"}})
    expect(reason == "wamp.error.authentication_failed", reason)


@check
async def auth_anonymous():
    j = await connect({"anonymous": {}})
    expect(j.details.authmethod == "anonymous" and j.details.authrole == "anonymous",
           identity(j))
    expect(j.details.authid == str(j.details.session), identity(j))
    await j.session.leave()


# -- session meta API ------------------------------------------------------------------------

@check
async def meta_session_events_and_procedures():
    w = await connect()
    joins, leaves = [], []
    # Crossbar-style handlers: on_leave with a single argument.
    await w.session.subscribe(lambda details: joins.append(details), "wamp.session.on_join")
    await w.session.subscribe(lambda session_id: leaves.append(session_id), "wamp.session.on_leave")
    j = await connect({"ticket": {"authid": "joe", "ticket": "joe-ticket"}})
    sid = j.details.session
    await asyncio.sleep(0.2)
    expect([d["session"] for d in joins] == [sid], joins)
    expect(joins[0]["authid"] == "joe" and joins[0]["authrole"] == "user", joins)
    n = await w.session.call("wamp.session.count")
    expect(n == 2, n)
    ids = await w.session.call("wamp.session.list")
    expect(sorted(ids) == sorted([sid, w.details.session]), ids)
    users = await w.session.call("wamp.session.list", ["user"])
    expect(users == [sid], users)
    info = await w.session.call("wamp.session.get", sid)
    expect(info["authmethod"] == "ticket", info)
    try:
        await w.session.call("wamp.session.get", 1)
        raise AssertionError("no error for an unknown session")
    except ApplicationError as e:
        expect(e.error == "wamp.error.no_such_session", e.error)
    await j.session.leave()
    await asyncio.sleep(0.2)
    expect(leaves == [sid], leaves)
    await w.session.leave()


@check
async def meta_kill():
    w = await connect()
    v = await connect()
    try:
        await w.session.call("wamp.session.kill", w.details.session)
        raise AssertionError("killing oneself succeeded")
    except ApplicationError as e:
        expect(e.error == "wamp.error.no_such_session", e.error)
    await w.session.call("wamp.session.kill", v.details.session, message="bye")
    reason = await asyncio.wait_for(v.left, TIMEOUT)
    expect(reason == "wamp.close.killed", reason)
    killed = await w.session.call("wamp.session.kill_by_authid", "nobody")
    expect(killed == [], killed)
    await w.session.leave()


@check
async def meta_registrations_and_subscriptions():
    w = await connect()
    events = []
    for topic in ("wamp.registration.on_create", "wamp.registration.on_register",
                  "wamp.subscription.on_create", "wamp.subscription.on_subscribe"):
        await w.session.subscribe(
            (lambda t: (lambda *args: events.append((t, args))))(topic), topic)
    c = await connect()
    reg = await c.session.register(lambda: 1, "com.interop.meta.proc")
    sub = await c.session.subscribe(lambda: None, "com.interop.meta.topic")
    await asyncio.sleep(0.2)
    kinds = [e[0] for e in events]
    expect(kinds.index("wamp.registration.on_create")
           < kinds.index("wamp.registration.on_register"), kinds)
    expect("wamp.subscription.on_subscribe" in kinds, kinds)
    expect(await w.session.call("wamp.registration.lookup", "com.interop.meta.proc") == reg.id,
           "lookup")
    expect(await w.session.call("wamp.registration.match", "com.interop.meta.proc") == reg.id,
           "match")
    got = await w.session.call("wamp.registration.get", reg.id)
    expect(got["uri"] == "com.interop.meta.proc" and got["match"] == "exact", got)
    callees = await w.session.call("wamp.registration.list_callees", reg.id)
    expect(callees == [c.details.session], callees)
    lst = await w.session.call("wamp.subscription.list")
    expect(sub.id in lst["exact"], lst)
    expect(await w.session.call("wamp.subscription.count_subscribers", sub.id) == 1, "count")
    expect(await w.session.call("wamp.subscription.match", "com.interop.meta.topic") == [sub.id],
           "subscription match")
    await c.session.leave()
    await w.session.leave()


@check
async def meta_testament():
    w = await connect()
    got = []
    await w.session.subscribe(lambda *a, **kw: got.append((a, kw)), "com.interop.will")
    c = await connect()
    await c.session.call("wamp.session.add_testament", "com.interop.will", ["gone"], {"who": "c"})
    c.session.disconnect()  # no GOODBYE: the transport just goes
    for _ in range(50):
        if got:
            break
        await asyncio.sleep(0.1)
    expect(got == [(("gone",), {"who": "c"})], got)
    await w.session.leave()


@check
async def meta_event_history():
    w = await connect()
    sub = await w.session.subscribe(lambda *a: None, "com.interop.hist")
    p = await connect()
    for i in range(3):
        await p.session.publish("com.interop.hist", i, options=PublishOptions(acknowledge=True))
    events = await w.session.call("wamp.subscription.get_events", sub.id, 2)
    expect([e["args"] for e in events] == [[1], [2]], events)
    await p.session.leave()
    await w.session.leave()


async def main():
    passed = failed = 0
    for fn in CHECKS:
        if ONLY and fn.__name__ not in ONLY:
            continue
        try:
            await asyncio.wait_for(fn(), 3 * TIMEOUT)
            print("PASS", fn.__name__, flush=True)
            passed += 1
        except BaseException as e:  # noqa: BLE001 - report every failure kind
            why = "".join(traceback.format_exception_only(type(e), e)).strip()
            if isinstance(e, AssertionError):
                tb = traceback.extract_tb(e.__traceback__)[-1]
                why += " at %s:%d" % (tb.filename, tb.lineno)
            print("FAIL %s: %s" % (fn.__name__, why), flush=True)
            failed += 1
    print("autobahn-python auth/meta %s %s: %d passed, %d failed"
          % (URL, SERIALIZER, passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
