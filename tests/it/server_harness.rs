//! Runs our router server in-process for the adapter, robustness and interop tests: a
//! runtime on a thread of its own, the server bound to free loopback ports.

use std::net::SocketAddr;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wamp_router_core::{RouterConfig, RouterStats};
use wamp_tokio::server::{
    Endpoint, ListenerConfig, Server, ServerConfig, ServerHandle, ServerStats,
};

/// A running server, shut down (GOODBYE to every session) on drop.
pub(crate) struct TestServer {
    endpoints: Vec<Endpoint>,
    handle: ServerHandle,
    rt: tokio::runtime::Handle,
    thread: Option<JoinHandle<()>>,
}

/// `realm1`, callers and publishers disclosed (what the interop suites expect), one TCP
/// listener on a free port with every transport and serializer.
pub(crate) fn interop_config() -> ServerConfig {
    let mut router = RouterConfig::with_realm("realm1");
    router.disclose_caller = true;
    router.disclose_publisher = true;
    let mut c = ServerConfig::default();
    c.router = router;
    c.listeners = vec![ListenerConfig::new(Endpoint::Tcp(SocketAddr::from((
        [127, 0, 0, 1],
        0,
    ))))];
    c.seed = Some(7);
    c
}

impl TestServer {
    /// Binds and runs `config`.
    pub(crate) fn start(config: ServerConfig) -> TestServer {
        // `WAMP_TEST_LOG=debug cargo test ...` shows the server's logs.
        if let Ok(filter) = std::env::var("WAMP_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
        let (tx, rx) = std_mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            let handle = rt.handle().clone();
            rt.block_on(async move {
                let server = match Server::bind(config).await {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                let _ = tx.send(Ok((
                    server.local_endpoints().to_vec(),
                    server.handle(),
                    handle,
                )));
                server.run().await.expect("server run");
            });
        });
        let (endpoints, handle, rt) = rx
            .recv()
            .expect("server thread")
            .expect("bind the test server");
        TestServer {
            endpoints,
            handle,
            rt,
            thread: Some(thread),
        }
    }

    /// The first TCP port.
    pub(crate) fn port(&self) -> u16 {
        self.endpoints
            .iter()
            .find_map(|e| match e {
                Endpoint::Tcp(a) => Some(a.port()),
                Endpoint::Unix(_) => None,
            })
            .expect("a TCP listener")
    }

    /// The bound endpoints.
    pub(crate) fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The server's counters.
    pub(crate) fn stats(&self) -> ServerStats {
        self.handle.stats()
    }

    /// The router core's counts.
    pub(crate) fn router_stats(&self) -> RouterStats {
        let h = self.handle.clone();
        self.rt
            .block_on(async move { h.router_stats().await })
            .expect("router task running")
    }

    /// Waits (polling, bounded) until `pred` holds for the server and router counts;
    /// returns the last counts seen.
    pub(crate) fn wait_for(
        &self,
        what: &str,
        pred: impl Fn(&ServerStats, &RouterStats) -> bool,
    ) -> (ServerStats, RouterStats) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (s, r) = (self.stats(), self.router_stats());
            if pred(&s, &r) {
                return (s, r);
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {s:?} {r:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Shuts down and waits for the server to finish.
    pub(crate) fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        self.handle.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop_inner();
    }
}
