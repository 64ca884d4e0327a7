//! Heap memory of the server per idle session (RawSocket and WebSocket), counted by an
//! instrumented global allocator, and its return after the sessions close. The clients are
//! plain blocking std sockets, which allocate nothing on the heap.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use wamp_tokio::server::{Endpoint, ListenerConfig, Server, ServerConfig, ServerHandle};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

const N: usize = 200;

/// JSON HELLO for realm1.
const HELLO: &[u8] = br#"[1,"realm1",{"roles":{"caller":{},"subscriber":{}}}]"#;

fn live_bytes() -> isize {
    let s = GLOBAL.stats();
    s.bytes_allocated as isize - s.bytes_deallocated as isize
}

fn wait_for(handle: &ServerHandle, established: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while handle.stats().established != established
        || handle.stats().open_connections != established
    {
        assert!(Instant::now() < deadline, "{:?}", handle.stats());
        std::thread::sleep(Duration::from_millis(10));
    }
    // Let the router task and connection tasks settle.
    std::thread::sleep(Duration::from_millis(200));
}

fn rawsocket_session(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_nodelay(true).unwrap();
    s.write_all(&[0x7F, 0xF1, 0, 0]).unwrap();
    let mut reply = [0u8; 4];
    s.read_exact(&mut reply).unwrap();
    assert_eq!(reply[0], 0x7F);
    let len = HELLO.len() as u8;
    s.write_all(&[0, 0, 0, len]).unwrap();
    s.write_all(HELLO).unwrap();
    let mut header = [0u8; 4];
    s.read_exact(&mut header).unwrap();
    let n = usize::from(header[1]) << 16 | usize::from(header[2]) << 8 | usize::from(header[3]);
    let mut welcome = [0u8; 1024];
    s.read_exact(&mut welcome[..n]).unwrap();
    assert_eq!(&welcome[..3], b"[2,");
    s
}

fn websocket_session(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_nodelay(true).unwrap();
    s.write_all(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
          Sec-WebSocket-Protocol: wamp.2.json\r\n\r\n",
    )
    .unwrap();
    let mut byte = [0u8; 1];
    let mut tail = [0u8; 4];
    loop {
        s.read_exact(&mut byte).unwrap();
        tail = [tail[1], tail[2], tail[3], byte[0]];
        if &tail == b"\r\n\r\n" {
            break;
        }
    }
    // One masked text frame (mask 0: payload unchanged).
    let len = HELLO.len() as u8;
    s.write_all(&[0x81, 0x80 | len, 0, 0, 0, 0]).unwrap();
    s.write_all(HELLO).unwrap();
    let mut h = [0u8; 2];
    s.read_exact(&mut h).unwrap();
    let mut n = usize::from(h[1] & 0x7F);
    if n == 126 {
        let mut ext = [0u8; 2];
        s.read_exact(&mut ext).unwrap();
        n = usize::from(u16::from_be_bytes(ext));
    }
    let mut welcome = [0u8; 1024];
    s.read_exact(&mut welcome[..n]).unwrap();
    assert_eq!(&welcome[..3], b"[2,");
    s
}

fn measure(connect: fn(u16) -> TcpStream) -> (isize, isize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut config = ServerConfig::default();
    config.listeners = vec![ListenerConfig::new(Endpoint::Tcp(SocketAddr::from((
        [127, 0, 0, 1],
        0,
    ))))];
    config.seed = Some(1);
    let server = rt.block_on(Server::bind(config)).unwrap();
    let Endpoint::Tcp(addr) = server.local_endpoints()[0].clone() else {
        panic!("tcp");
    };
    let handle = server.handle();
    let done = rt.spawn(server.run());
    let mut conns = Vec::with_capacity(N + 1);
    // Warm up: the first session and a first round of N allocate per-thread, per-runtime
    // and per-router structures that stay (thread-local read buffers, table capacities).
    conns.push(connect(addr.port()));
    for _ in 0..N {
        conns.push(connect(addr.port()));
    }
    wait_for(&handle, N as u64 + 1);
    conns.truncate(1);
    wait_for(&handle, 1);
    let before = live_bytes();
    for _ in 0..N {
        conns.push(connect(addr.port()));
    }
    wait_for(&handle, N as u64 + 1);
    let idle = live_bytes() - before;
    conns.truncate(1);
    wait_for(&handle, 1);
    let after = live_bytes() - before;
    drop(conns);
    handle.shutdown();
    rt.block_on(done).unwrap().unwrap();
    (idle / N as isize, after)
}

#[test]
fn idle_sessions_are_small_and_their_memory_is_returned() {
    for (name, connect) in [
        ("RawSocket", rawsocket_session as fn(u16) -> TcpStream),
        ("WebSocket", websocket_session),
    ] {
        let (per_session, after) = measure(connect);
        eprintln!("{name}: {per_session} heap bytes per idle session, {after} left after close");
        // Everything included: the connection task, its queue, the router core's session
        // and the transport details. WebSocket adds tungstenite's state and read buffer
        // (`websocket_read_buffer`, 1 KiB by default). Measured: about 3.3 and 5.0 KB.
        let bound = if name == "RawSocket" {
            4 * 1024
        } else {
            6 * 1024
        };
        assert!(
            per_session <= bound,
            "{name}: {per_session} bytes per idle session"
        );
        assert!(after <= 4 * 1024, "{name}: {after} bytes not returned");
    }
}
