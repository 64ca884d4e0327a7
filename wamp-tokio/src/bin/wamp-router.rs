//! `wamp-router`: a WAMP v2 router serving WebSocket and RawSocket.
//!
//! Without arguments it serves realm `realm1` (anonymous) on `127.0.0.1:8080`: WebSocket at
//! `/ws` and `/`, RawSocket on the same port. `--config FILE` reads a TOML file (see
//! `wamp-tokio/examples/router.toml`, and `router-auth.toml` for authentication); `--listen`,
//! `--realm` and `--log` override it. A bad configuration exits with code 2 and a message
//! naming the key. SIGINT or SIGTERM: every session gets GOODBYE `wamp.close.system_shutdown`,
//! then the process exits with code 0.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use wamp_router_core::AuthProvider;
use wamp_tokio::config::{FileConfig, parse_endpoint, select_realms};
use wamp_tokio::server::{Endpoint, ListenerConfig, Server};

/// A WAMP v2 router (WebSocket and RawSocket, JSON, MessagePack, CBOR, UBJSON).
#[derive(Debug, Parser)]
#[command(name = "wamp-router", version)]
struct Args {
    /// TOML configuration file (every key documented in wamp-tokio/examples/router.toml).
    #[arg(long, short, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Listen here instead of the file's listeners (repeatable): host:port or unix:/path.
    /// Serves WebSocket and RawSocket with every serializer.
    #[arg(long, value_name = "ADDR", value_parser = parse_endpoint)]
    listen: Vec<Endpoint>,
    /// Serve only this realm (repeatable): a realm the file configures keeps its
    /// authentication, roles and history; any other is anonymous and allows everything.
    #[arg(long, value_name = "URI")]
    realm: Vec<String>,
    /// Log filter (error, warn, info, debug, trace, or tracing directives).
    #[arg(long, value_name = "FILTER")]
    log: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let file = match &args.config {
        Some(path) => match FileConfig::load(path) {
            Ok(f) => f,
            Err(e) => return config_error(&e.to_string()),
        },
        None => FileConfig::default(),
    };
    let base = args
        .config
        .as_deref()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    let mut config = match file.to_server_config(base) {
        Ok(c) => c,
        Err(e) => return config_error(&e.to_string()),
    };
    if !args.listen.is_empty() {
        config.listeners = args
            .listen
            .iter()
            .cloned()
            .map(ListenerConfig::new)
            .collect();
    }
    if !args.realm.is_empty() {
        if let Err(e) = select_realms(&mut config.router, &args.realm) {
            return config_error(&e.to_string());
        }
    }

    let filter = match (&args.log, std::env::var("RUST_LOG").ok(), &file.log) {
        (Some(l), _, _) => EnvFilter::try_new(l).map_err(|e| format!("--log: {e}")),
        (None, Some(env), _) => EnvFilter::try_new(env).map_err(|e| format!("RUST_LOG: {e}")),
        (None, None, Some(l)) => EnvFilter::try_new(l).map_err(|e| format!("log: {e}")),
        (None, None, None) => Ok(EnvFilter::new("info")),
    };
    let filter = match filter {
        Ok(f) => f,
        Err(e) => return config_error(&e),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wamp-router: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listeners = config.listeners.clone();
        let realms: Vec<String> = config
            .router
            .realms
            .iter()
            .map(|r| r.name.to_string())
            .collect();
        let mut realm_lines = Vec::new();
        for r in &config.router.realms {
            let methods: Vec<String> = r
                .auth
                .methods
                .iter()
                .map(|m| match m.provider {
                    AuthProvider::Static => m.method.as_str().to_owned(),
                    AuthProvider::Dynamic => format!("{} (dynamic)", m.method.as_str()),
                })
                .collect();
            let roles = if r.roles.is_empty() {
                "no roles: everything allowed".to_owned()
            } else {
                format!("{} roles", r.roles.len())
            };
            realm_lines.push(format!(
                "wamp-router: realm {}: {} ({} static principals), {roles}",
                r.name,
                methods.join(", "),
                r.auth.principals.len(),
            ));
        }
        let server = match Server::bind(config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("wamp-router: cannot listen: {e}");
                return ExitCode::FAILURE;
            }
        };
        for (l, ep) in listeners.iter().zip(server.local_endpoints()) {
            let mut what = Vec::new();
            let tls = l.tls.is_some();
            if l.websocket {
                let scheme = if tls { "wss" } else { "ws" };
                let urls: Vec<String> = match ep {
                    Endpoint::Tcp(a) if !l.websocket_paths.is_empty() => l
                        .websocket_paths
                        .iter()
                        .map(|p| format!("{scheme}://{a}{p}"))
                        .collect(),
                    Endpoint::Tcp(a) => vec![format!("{scheme}://{a}/ (any path)")],
                    Endpoint::Unix(_) => {
                        vec![format!("{scheme} at {}", l.websocket_paths.join(", "))]
                    }
                };
                what.push(format!("WebSocket {}", urls.join(" ")));
            }
            if l.rawsocket {
                what.push(format!("RawSocket{}", if tls { " over TLS" } else { "" }));
            }
            let serializers: Vec<&str> = l.serializers.iter().map(|s| s.name()).collect();
            let auth = match &l.auth_methods {
                Some(m) => {
                    let names: Vec<&str> = m.iter().map(|m| m.as_str()).collect();
                    format!(", authentication {} only", names.join(", "))
                }
                None => String::new(),
            };
            // A closed stdout (the reader went away) must not stop the router.
            let _ = writeln!(
                std::io::stdout(),
                "wamp-router: serving realm {} on {ep}: {} ({}){auth}",
                realms.join(", "),
                what.join(" and "),
                serializers.join(", "),
            );
        }
        for line in realm_lines {
            let _ = writeln!(std::io::stdout(), "{line}");
        }
        let handle = server.handle();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("signal received, saying goodbye to every session");
            handle.shutdown();
        });
        match server.run().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("wamp-router: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

fn config_error(msg: &str) -> ExitCode {
    eprintln!("wamp-router: configuration error: {msg}");
    ExitCode::from(2)
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
