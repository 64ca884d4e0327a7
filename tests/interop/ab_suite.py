"""Interop suite: autobahn-python (asyncio) clients against a WAMP router.

Usage: python ab_suite.py URL REALM SERIALIZER [CHECK ...]

URL is ws://host:port/path or rs://host:port (RawSocket). SERIALIZER is json, msgpack, cbor or
ubjson, on WebSocket optionally with ".batched" (json.batched, ...). Prints one line per check ("PASS name" or "FAIL name: why") and closes with
"N passed, M failed"; exits non-zero when a check failed. Every check has a time limit.
"""

import asyncio
import sys
import traceback

from autobahn.asyncio.component import Component
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import (
    CallOptions,
    PublishOptions,
    RegisterOptions,
    SubscribeOptions,
)

URL, REALM, SERIALIZER = sys.argv[1], sys.argv[2], sys.argv[3]
if SERIALIZER.endswith(".batched"):
    # WebSocket batched mode ("json.batched", ...): Component checks serializer names
    # against SERID_TO_SER, while the serializer factory understands the suffix.
    from autobahn.wamp import serializer as _serializer
    _serializer.SERID_TO_SER.setdefault(
        SERIALIZER, _serializer.SERID_TO_SER[SERIALIZER.split(".")[0]])
ONLY = set(sys.argv[4:])
TIMEOUT = 10.0


def transport():
    if URL.startswith("rs://") or URL.startswith("rss://"):
        return {"type": "rawsocket", "url": URL, "serializer": SERIALIZER,
                "max_retries": 0}
    return {"type": "websocket", "url": URL, "serializers": [SERIALIZER],
            "max_retries": 0}


async def connect(authentication=None, authid=None):
    """Joins a session and returns it (the component keeps running)."""
    loop = asyncio.get_running_loop()
    joined = loop.create_future()
    kwargs = {}
    if authentication is not None:
        kwargs["authentication"] = authentication
    comp = Component(transports=[transport()], realm=REALM, **kwargs)

    @comp.on_join
    async def _joined(session, details):
        if not joined.done():
            joined.set_result(session)

    @comp.on_disconnect
    async def _gone(session, was_clean=True):
        if not joined.done():
            joined.set_exception(RuntimeError("disconnected before join"))

    comp.start(loop)
    return await asyncio.wait_for(joined, TIMEOUT)


CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


@check
async def join_and_leave():
    s = await connect()
    expect(s.session_id and 1 <= s.session_id <= 2**53, "session id in range")
    await s.leave()


@check
async def rpc_args_kwargs():
    callee, caller = await connect(), await connect()
    await callee.register(lambda *a, **kw: {"args": list(a), "kwargs": kw},
                          "com.interop.echo")
    payload = ["text", 42, -7, 2**53, 1.5, True, None, b"\x00\x01\xff", [1, [2]],
               {"nested": {"x": "ü"}}]
    res = await caller.call("com.interop.echo", *payload, key="value", n=3)
    expect(res["args"] == payload, "args round trip: %r" % (res["args"],))
    expect(res["kwargs"] == {"key": "value", "n": 3}, "kwargs round trip")
    await callee.leave()
    await caller.leave()


@check
async def rpc_application_error():
    callee, caller = await connect(), await connect()

    def fail():
        raise ApplicationError("com.interop.error.custom", "detail", code=7)

    await callee.register(fail, "com.interop.fail")
    try:
        await caller.call("com.interop.fail")
        raise AssertionError("call should fail")
    except ApplicationError as e:
        expect(e.error == "com.interop.error.custom", "error uri: %s" % e.error)
        expect(list(e.args) == ["detail"], "error args: %r" % (e.args,))
        expect(e.kwargs == {"code": 7}, "error kwargs")
    await callee.leave()
    await caller.leave()


@check
async def rpc_no_such_procedure():
    s = await connect()
    try:
        await s.call("com.interop.nobody")
        raise AssertionError("call should fail")
    except ApplicationError as e:
        expect(e.error == "wamp.error.no_such_procedure", e.error)
    await s.leave()


@check
async def rpc_procedure_already_exists():
    a, b = await connect(), await connect()
    await a.register(lambda: 1, "com.interop.taken")
    try:
        await b.register(lambda: 2, "com.interop.taken")
        raise AssertionError("second register should fail")
    except ApplicationError as e:
        expect(e.error == "wamp.error.procedure_already_exists", e.error)
    await a.leave()
    await b.leave()


@check
async def rpc_progressive_results():
    callee, caller = await connect(), await connect()

    async def count(n, details=None):
        for i in range(n):
            if details.progress:
                details.progress(i)
        return n

    await callee.register(count, "com.interop.count",
                          options=RegisterOptions(details_arg="details"))
    seen = []
    res = await caller.call("com.interop.count", 3,
                            options=CallOptions(on_progress=seen.append))
    expect(seen == [0, 1, 2], "progress %r" % (seen,))
    expect(res == 3, "final result")
    await callee.leave()
    await caller.leave()


@check
async def rpc_cancel_kill():
    callee, caller = await connect(), await connect()
    started = asyncio.get_running_loop().create_future()

    async def slow():
        started.set_result(True)
        await asyncio.sleep(30)
        return "late"

    await callee.register(slow, "com.interop.slow")
    call = caller.call("com.interop.slow")
    await asyncio.wait_for(started, TIMEOUT)
    call.cancel()
    try:
        await call
        raise AssertionError("cancelled call returned")
    except (asyncio.CancelledError, ApplicationError):
        pass
    await callee.leave()
    await caller.leave()


@check
async def rpc_call_timeout():
    # Router-enforced call timeout (Crossbar 26.10.1 only forwards the option and this
    # check fails against it; our dealer enforces it).
    callee, caller = await connect(), await connect()

    async def slow():
        await asyncio.sleep(30)

    await callee.register(slow, "com.interop.slow2")
    try:
        await caller.call("com.interop.slow2", options=CallOptions(timeout=300))  # ms
        raise AssertionError("call should time out")
    except ApplicationError as e:
        expect(e.error in ("wamp.error.timeout", "wamp.error.canceled"),
               "error %r" % (e.error,))
    await callee.leave()
    await caller.leave()


@check
async def rpc_caller_disclosure():
    callee, caller = await connect(), await connect()

    def who(details=None):
        return details.caller

    # autobahn-python has no disclose_me/disclose_caller options: the routers under test
    # are configured to disclose callers (as Crossbar's role permissions do).
    await callee.register(who, "com.interop.who",
                          options=RegisterOptions(details_arg="details"))
    res = await caller.call("com.interop.who")
    expect(res == caller.session_id, "caller id %r" % (res,))
    await callee.leave()
    await caller.leave()


@check
async def rpc_shared_roundrobin():
    a, b, caller = await connect(), await connect(), await connect()
    opts = RegisterOptions(invoke="roundrobin")
    await a.register(lambda: "a", "com.interop.rr", options=opts)
    await b.register(lambda: "b", "com.interop.rr", options=opts)
    got = [await caller.call("com.interop.rr") for _ in range(4)]
    expect(sorted(got) == ["a", "a", "b", "b"] and got[0] != got[1],
           "round robin %r" % (got,))
    for s in (a, b, caller):
        await s.leave()


@check
async def rpc_prefix_registration():
    callee, caller = await connect(), await connect()

    def handler(details=None):
        return details.procedure

    await callee.register(handler, "com.interop.pfx.",
                          options=RegisterOptions(match="prefix", details_arg="details"))
    res = await caller.call("com.interop.pfx.deep.name")
    expect(res == "com.interop.pfx.deep.name", "procedure %r" % (res,))
    await callee.leave()
    await caller.leave()


@check
async def pubsub_basic_ack():
    sub, pub = await connect(), await connect()
    got = asyncio.get_running_loop().create_future()
    await sub.subscribe(lambda *a, **kw: got.set_result((list(a), kw)),
                        "com.interop.topic")
    pubd = await pub.publish("com.interop.topic", 1, b"\x02", x="y",
                             options=PublishOptions(acknowledge=True))
    expect(pubd.id and 1 <= pubd.id <= 2**53, "publication id")
    args, kw = await asyncio.wait_for(got, TIMEOUT)
    expect(args == [1, b"\x02"] and kw == {"x": "y"}, "event payload %r %r" % (args, kw))
    await sub.leave()
    await pub.leave()


@check
async def pubsub_exclude_me_and_disclose():
    s = await connect()
    got = asyncio.get_running_loop().create_future()

    def on_event(details=None):
        got.set_result(details.publisher)

    await s.subscribe(on_event, "com.interop.self",
                      options=SubscribeOptions(details_arg="details"))
    await s.publish("com.interop.self", options=PublishOptions(acknowledge=True))
    # autobahn-python has no disclose_me publish option: the routers under test are
    # configured to disclose publishers.
    await s.publish("com.interop.self", options=PublishOptions(
        acknowledge=True, exclude_me=False))
    publisher = await asyncio.wait_for(got, TIMEOUT)
    expect(publisher == s.session_id, "publisher %r" % (publisher,))
    await s.leave()


@check
async def pubsub_wildcard_topic_detail():
    sub, pub = await connect(), await connect()
    got = asyncio.get_running_loop().create_future()

    def on_event(details=None):
        got.set_result(details.topic)

    await sub.subscribe(on_event, "com.interop..wild",
                        options=SubscribeOptions(match="wildcard", details_arg="details"))
    await pub.publish("com.interop.x.wild", options=PublishOptions(acknowledge=True))
    topic = await asyncio.wait_for(got, TIMEOUT)
    expect(topic == "com.interop.x.wild", "topic %r" % (topic,))
    await sub.leave()
    await pub.leave()


@check
async def pubsub_eligible():
    a, b, pub = await connect(), await connect(), await connect()
    got_a, got_b = [], []
    await a.subscribe(lambda: got_a.append(1), "com.interop.elig")
    await b.subscribe(lambda: got_b.append(1), "com.interop.elig")
    await pub.publish("com.interop.elig", options=PublishOptions(
        acknowledge=True, eligible=[b.session_id]))
    await pub.publish("com.interop.elig", options=PublishOptions(
        acknowledge=True, exclude=[b.session_id]))
    await asyncio.sleep(0.3)
    expect(got_a == [1] and got_b == [1], "a=%r b=%r" % (got_a, got_b))
    for s in (a, b, pub):
        await s.leave()


@check
async def pubsub_unsubscribe():
    sub, pub = await connect(), await connect()
    got = []
    subscription = await sub.subscribe(lambda: got.append(1), "com.interop.unsub")
    await subscription.unsubscribe()
    await pub.publish("com.interop.unsub", options=PublishOptions(acknowledge=True))
    await asyncio.sleep(0.3)
    expect(got == [], "no event after unsubscribe")
    await sub.leave()
    await pub.leave()


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
    print("autobahn-python %s %s: %d passed, %d failed" % (URL, SERIALIZER, passed, failed),
          flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
