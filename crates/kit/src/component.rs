//! What a component is, for both hosts: [`spin_component!`](crate::spin_component) builds one per request on
//! Spin, devhost builds each once and serves every request with it.
//!
//! A component that routes (all but the gateway, which proxies) implements [`Routes`] and gets its
//! [`Component::handle`] from [`serve`]: match the route, dispatch, map the error to a problem in one place,
//! answer `HEAD` as `GET` without the body.

use std::sync::OnceLock;

use bytes::Bytes;
use http::Method;

use crate::config::ConfigError;
use crate::router::{Params, Router};
use crate::{Ctx, Problem, Request, Response};

/// A Spin component's native core: built from its variables, then handles buffered requests.
// `async fn` here is deliberate: both hosts call it on the concrete type, so a Send future (devhost) is
// inferred there, and the wasm32 build needs no Send at all.
#[allow(async_fn_in_trait)]
pub trait Component: Sized {
    /// Builds the component from its variables (Spin: for every request).
    fn new(ctx: &Ctx) -> Result<Self, ConfigError>;

    /// Checks what [`Component::new`] leaves for first use, so devhost refuses a bad setting at start.
    fn check_config(&self) -> Result<(), ConfigError> {
        Ok(())
    }

    /// Handles one request.
    async fn handle(&self, request: Request) -> Response;
}

/// The part of a component in `cell`, built by `init` on first use (what [`Component::check_config`] checks
/// early): a failed `init` leaves the cell empty. `OnceLock::get_or_try_init` until std stabilises it.
pub fn get_or_try_init<T, E>(cell: &OnceLock<T>, init: impl FnOnce() -> Result<T, E>) -> Result<&T, E> {
    if let Some(value) = cell.get() {
        return Ok(value);
    }
    let value = init()?;
    Ok(cell.get_or_init(|| value))
}

/// A component's route table and the match over it; [`serve`] does the rest.
#[allow(async_fn_in_trait)]
pub trait Routes {
    /// The operation a route names (usually a `Copy` enum).
    type Route: Clone;
    /// The component's error type; its conversion to [`Problem`] is the one place errors meet HTTP.
    type Error: Into<Problem>;

    /// The route table.
    fn router(&self) -> &Router<Self::Route>;

    /// Runs the handler of a matched route.
    async fn dispatch(&self, route: Self::Route, params: &Params, request: &Request) -> Result<Response, Self::Error>;

    /// The response for an error: its problem, unless the component relays another service's answer.
    fn error_response(error: Self::Error) -> Response {
        error.into().into_response()
    }
}

/// The request loop of a routed component: route match (404, 405 with `Allow`), dispatch, the error as a
/// problem response, and `HEAD` served by the `GET` route with the body dropped.
pub async fn serve<S: Routes>(service: &S, request: Request) -> Response {
    let head = request.method() == Method::HEAD;
    let mut response = match service.router().at(request.method(), request.uri().path()) {
        Ok((route, params)) => match service.dispatch(route, &params, &request).await {
            Ok(response) => response,
            Err(error) => S::error_response(error),
        },
        Err(problem) => problem.into_response(),
    };
    if head {
        *response.body_mut() = Bytes::new();
    }
    response
}

/// The `{id}` parameter of a matched route (empty when the route has none, which no handler accepts).
pub fn id(params: &Params) -> &str {
    params.get("id").unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use http::StatusCode;

    struct Echo(Router<&'static str>);

    impl Routes for Echo {
        type Route = &'static str;
        type Error = Problem;

        fn router(&self) -> &Router<&'static str> {
            &self.0
        }

        async fn dispatch(&self, route: &'static str, params: &Params, _: &Request) -> Result<Response, Problem> {
            match route {
                "get" => Ok(crate::http::json(StatusCode::OK, &id(params))),
                _ => Err(Problem::conflict("no")),
            }
        }
    }

    fn request(method: Method, path: &str) -> Request {
        http::Request::builder().method(method).uri(path).body(Bytes::new()).unwrap()
    }

    #[tokio::test]
    async fn routes_dispatch_problems_and_head() {
        let echo = Echo(Router::new().route(Method::GET, "/things/{id}", "get").route(Method::POST, "/things", "post"));
        let got = serve(&echo, request(Method::GET, "/things/7")).await;
        assert_eq!((got.status(), got.body().as_ref()), (StatusCode::OK, b"\"7\"".as_slice()));
        let head = serve(&echo, request(Method::HEAD, "/things/7")).await;
        assert_eq!((head.status(), head.body().len()), (StatusCode::OK, 0));
        assert_eq!(serve(&echo, request(Method::POST, "/things")).await.status(), StatusCode::CONFLICT);
        assert_eq!(serve(&echo, request(Method::GET, "/nothing")).await.status(), StatusCode::NOT_FOUND);
        let wrong = serve(&echo, request(Method::DELETE, "/things")).await;
        assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(wrong.headers()["allow"], "POST");
    }

    #[test]
    fn a_failed_init_leaves_the_cell_empty_and_a_built_value_is_kept() {
        let cell = OnceLock::new();
        let calls = Cell::new(0);
        let init = |ok: bool| {
            calls.set(calls.get() + 1);
            if ok {
                Ok(7)
            } else {
                Err("unusable")
            }
        };
        assert_eq!(get_or_try_init(&cell, || init(false)), Err("unusable"));
        assert!(cell.get().is_none());
        assert_eq!(get_or_try_init(&cell, || init(true)), Ok(&7));
        assert_eq!(get_or_try_init(&cell, || init(false)), Ok(&7), "built once, then kept");
        assert_eq!(calls.get(), 2);
    }
}
