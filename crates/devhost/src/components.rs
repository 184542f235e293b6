//! The native handler of every component, by Spin component id.

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use kit::config::ConfigError;
use kit::{Component, Ctx, Problem, Request, Response};
use tracing::Instrument;

/// A component's request handler.
pub type Handler = Arc<dyn Fn(Request) -> BoxFuture<'static, Response> + Send + Sync>;

/// Why a component could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The manifest names a component devhost does not know.
    #[error("unknown component `{0}`")]
    Unknown(String),
    /// The component refused its variables.
    #[error("component `{component}`: {source}")]
    Config {
        /// The component.
        component: String,
        /// The cause.
        source: ConfigError,
    },
}

/// Builds the handler of component `id`. A panic inside a handler becomes a 500, as a trap does on Spin.
pub fn build(id: &str, ctx: &Ctx) -> Result<Handler, BuildError> {
    let config_error = |source| BuildError::Config { component: id.to_owned(), source };
    macro_rules! service {
        ($krate:ident) => {{
            let service = <$krate::Service as Component>::new(ctx).map_err(config_error)?;
            // What the service builds on first use, checked now: devhost refuses a bad setting at start.
            service.check_config().map_err(config_error)?;
            let service = Arc::new(service);
            let component = id.to_owned();
            let handler: Handler = Arc::new(move |request| {
                let service = Arc::clone(&service);
                let span = kit::log::request_span(&component, &request);
                let component = component.clone();
                async move {
                    match std::panic::AssertUnwindSafe(Component::handle(&*service, request)).catch_unwind().await {
                        Ok(response) => response,
                        Err(_) => {
                            tracing::error!(component, "handler panicked");
                            Problem::internal().into_response()
                        }
                    }
                }
                .instrument(span)
                .boxed()
            });
            handler
        }};
    }
    Ok(match id {
        "gateway" => service!(gateway),
        "auth" => service!(auth),
        "users" => service!(users),
        "products" => service!(products),
        "orders" => service!(orders),
        "analytics" => service!(analytics),
        other => return Err(BuildError::Unknown(other.to_owned())),
    })
}
