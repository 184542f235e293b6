//! What a component is, for both hosts: [`spin_component!`](crate::spin_component) builds one per request on
//! Spin, devhost builds each once and serves every request with it.
//!
//! A component that routes (all but the gateway, which proxies) implements [`Routes`] and gets its
//! [`Component::handle`] from [`serve`]: match the route, dispatch, map the error to a problem in one place,
//! answer `HEAD` as `GET` without the body.

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
}
