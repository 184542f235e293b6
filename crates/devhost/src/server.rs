//! The HTTP listener, public routing, and the in-process chaining dispatcher.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, Weak};

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use futures::FutureExt;
use http::HeaderValue;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use kit::http::{BodyCap, BodyOverLimit, SPIN_CLIENT_ADDR, SPIN_PATH_INFO};
use kit::{Config, Ctx, Problem, Request, Response, Upstream};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::components::{self, Handler};
use crate::manifest::{App, Route};
use crate::runtime_config::{LocalStores, RuntimeConfig, StoreConfig};

/// Default per-component body cap, the same as the Spin entry point's.
const DEFAULT_BODY_CAP: usize = 1024 * 1024;

/// How to start devhost.
#[derive(Debug, Clone)]
pub struct Options {
    /// Path of `spin.toml`.
    pub manifest: PathBuf,
    /// Address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Application variable values that win over the environment and the manifest defaults.
    pub overrides: HashMap<String, String>,
    /// The key-value stores (`spin up --runtime-config-file`).
    pub runtime_config: RuntimeConfig,
}

/// A running devhost.
#[derive(Debug)]
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting connections and waits for the listener to close.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Waits until the listener ends (it ends only when stopped).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Every component's handler and body cap; the target of chained calls.
struct Dispatcher {
    app: App,
    handlers: OnceLock<HashMap<String, Handler>>,
    body_caps: HashMap<String, usize>,
}

impl Dispatcher {
    fn handler(&self, component: &str) -> Option<&Handler> {
        self.handlers.get().and_then(|handlers| handlers.get(component))
    }
}

/// Components hold their chaining client; a weak link avoids a reference cycle through the dispatcher.
struct WeakChain(Weak<Dispatcher>);

impl kit::upstream::Chain for WeakChain {
    fn call(&self, component: &str, request: Request) -> BoxFuture<'static, Option<Response>> {
        let call =
            self.0.upgrade().and_then(|dispatcher| dispatcher.handler(component).map(|handler| handler(request)));
        async move {
            match call {
                Some(call) => Some(call.await),
                None => None,
            }
        }
        .boxed()
    }
}

/// Loads the manifest, builds every component and starts listening.
pub async fn start(options: Options) -> anyhow::Result<Running> {
    let app = App::load(&options.manifest, &options.overrides, options.runtime_config.variables())?;
    let mut body_caps = HashMap::new();
    for (component, variables) in &app.variables {
        let cap = Config::from_map(variables.clone()).parse_or("max_body_bytes", DEFAULT_BODY_CAP)?;
        body_caps.insert(component.clone(), cap);
    }
    let dispatcher = Arc::new(Dispatcher { app, handlers: OnceLock::new(), body_caps });
    let chain: Arc<dyn kit::upstream::Chain> = Arc::new(WeakChain(Arc::downgrade(&dispatcher)));
    let mut handlers = HashMap::new();
    let local_stores = LocalStores::default();
    for trigger in &dispatcher.app.triggers {
        let variables = dispatcher.app.variables.get(&trigger.component).cloned().unwrap_or_default();
        let config = Config::from_map(variables);
        let key_value =
            key_value_stores(&dispatcher.app, &trigger.component, &config, &options.runtime_config, &local_stores)?;
        let ctx = Ctx { config, upstream: Upstream::native(Arc::clone(&chain)), key_value };
        handlers.insert(trigger.component.clone(), components::build(&trigger.component, &ctx)?);
    }
    let _ = dispatcher.handlers.set(handlers);

    let listener = TcpListener::bind(options.listen).await?;
    let addr = listener.local_addr()?;
    let (shutdown, mut stop) = oneshot::channel();
    let task = tokio::spawn(async move {
        loop {
            let (stream, peer) = tokio::select! {
                _ = &mut stop => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "accept failed");
                        continue;
                    }
                },
            };
            let dispatcher = Arc::clone(&dispatcher);
            tokio::spawn(async move {
                let service = service_fn(move |request| serve(Arc::clone(&dispatcher), peer, request));
                if let Err(error) = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
                    tracing::debug!(%error, "connection ended with an error");
                }
            });
        }
    });
    tracing::info!(%addr, "devhost listening");
    Ok(Running { addr, shutdown: Some(shutdown), task })
}

/// The stores `component` may open, backed as the runtime configuration says: a Redis store with the
/// component's `cache_timeout_ms` (Spin sets none; a test must not hang), a label it names nowhere refused as
/// `spin up` refuses it.
fn key_value_stores(
    app: &App,
    component: &str,
    config: &Config,
    runtime_config: &RuntimeConfig,
    local_stores: &LocalStores,
) -> anyhow::Result<kit::kv::KeyValue> {
    let mut granted = HashMap::new();
    for label in app.key_value_stores.get(component).into_iter().flatten() {
        let store = match runtime_config.store(label) {
            Some(StoreConfig::Redis { url }) => {
                let timeout = config.millis_or("cache_timeout_ms", std::time::Duration::from_millis(250))?;
                kit::kv::NativeStore::Redis(kit::cache::Cache::connect(&url, timeout)?)
            }
            Some(StoreConfig::Local) => local_stores.get(label),
            None => anyhow::bail!("unknown key_value_stores label {label:?} for component {component:?}"),
        };
        granted.insert(label.clone(), store);
    }
    Ok(kit::kv::KeyValue::native(granted))
}

async fn serve(
    dispatcher: Arc<Dispatcher>,
    peer: SocketAddr,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let response = match route(&dispatcher, peer, request).await {
        Ok(response) => response,
        Err(problem) => problem.into_response(),
    };
    Ok(response.map(Full::new))
}

async fn route(
    dispatcher: &Dispatcher,
    peer: SocketAddr,
    request: hyper::Request<Incoming>,
) -> Result<Response, Problem> {
    let path = request.uri().path().to_owned();
    // Only public triggers are reachable from outside; private components only through chaining.
    let trigger = dispatcher.app.route(&path).ok_or_else(Problem::not_found)?;
    debug_assert!(matches!(trigger.route, Route::Public(_)));
    let handler = dispatcher.handler(&trigger.component).ok_or_else(Problem::not_found)?;
    let cap = dispatcher.body_caps.get(&trigger.component).copied().unwrap_or(DEFAULT_BODY_CAP);

    let (mut parts, mut body) = request.into_parts();
    let mut buffer = BytesMut::new();
    let mut over_limit = false;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Problem::bad_request("the request body could not be read"))?;
        if let Ok(data) = frame.into_data() {
            if buffer.len() + data.len() > cap {
                over_limit = true;
                break;
            }
            buffer.extend_from_slice(&data);
        }
    }
    // The headers Spin sets on every incoming request, *appended* after the client's as Spin 4.0.2 does:
    // a client-sent spin-client-addr stays in front, and only the last value is the host's.
    if let Ok(value) = HeaderValue::from_str(&peer.to_string()) {
        parts.headers.append(SPIN_CLIENT_ADDR, value);
    }
    if let Ok(value) = HeaderValue::from_str(&path) {
        parts.headers.append(SPIN_PATH_INFO, value);
    }
    let mut request = Request::from_parts(parts, buffer.freeze());
    if over_limit {
        request.extensions_mut().insert(BodyOverLimit(cap));
    }
    if !request.body().is_empty() || over_limit {
        request.extensions_mut().insert(BodyCap(cap));
    }
    Ok(handler(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
spin_manifest_version = 2
[application]
name = "x"
[[trigger.http]]
route = "/..."
component = "front"
[component.front]
key_value_stores = ["default", "sessions"]
[component.back]
"#;

    fn stores(component: &str, runtime_config: &RuntimeConfig) -> anyhow::Result<kit::kv::KeyValue> {
        let app = App::parse(MANIFEST, &HashMap::new(), |_| None).unwrap();
        let config = Config::from_map(HashMap::new());
        key_value_stores(&app, component, &config, runtime_config, &LocalStores::default())
    }

    #[test]
    fn a_component_gets_the_stores_it_names_and_a_label_configured_nowhere_stops_the_start() {
        let configured = RuntimeConfig::default().with_redis_store("sessions", "redis://127.0.0.1:6379");
        let front = stores("front", &configured).unwrap();
        assert!(front.open("default").is_ok() && front.open("sessions").is_ok());
        assert!(front.open("other").is_err(), "not granted");
        assert!(stores("back", &configured).unwrap().open("default").is_err(), "a component names its stores");

        let error = stores("front", &RuntimeConfig::default()).unwrap_err().to_string();
        assert!(error.contains("unknown key_value_stores label \"sessions\""), "{error}");
    }
}
