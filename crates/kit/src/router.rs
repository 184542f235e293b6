//! A small method + path router.
//!
//! Routes map to a caller-chosen value (usually a `Copy` enum naming the operation), so a component matches
//! on that value and keeps ordinary `async fn`s for its handlers. Patterns are literal segments and `{name}`
//! parameters; parameters are percent-decoded.

use http::Method;
use percent_encoding::percent_decode_str;

use crate::problem::Problem;

#[derive(Debug, Clone)]
enum Segment {
    Literal(String),
    Param(String),
}

#[derive(Debug, Clone)]
struct Route<T> {
    method: Method,
    segments: Vec<Segment>,
    target: T,
}

/// Path parameters captured by a match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// The decoded value of parameter `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// A router from `(method, path)` to a target value.
#[derive(Debug, Clone)]
pub struct Router<T> {
    routes: Vec<Route<T>>,
}

impl<T> Default for Router<T> {
    fn default() -> Self {
        Self { routes: Vec::new() }
    }
}

impl<T: Clone> Router<T> {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route; `pattern` is like `/users/{id}/password`.
    #[must_use]
    pub fn route(mut self, method: Method, pattern: &str, target: T) -> Self {
        let segments = split(pattern)
            .map(|segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => Segment::Param(name.to_owned()),
                None => Segment::Literal(segment.to_owned()),
            })
            .collect();
        self.routes.push(Route { method, segments, target });
        self
    }

    /// Finds the route for `method` and `path`: 404 when no pattern matches the path, 405 (with `Allow`)
    /// when the path matches under other methods only, 400 when a parameter is not valid UTF-8. `HEAD` is
    /// served by the `GET` route when there is no `HEAD` route (the host drops the body).
    pub fn at(&self, method: &Method, path: &str) -> Result<(T, Params), Problem> {
        match self.find(method, path) {
            Err(problem) if method == Method::HEAD => self.find(&Method::GET, path).map_err(|_| problem),
            found => found,
        }
    }

    fn find(&self, method: &Method, path: &str) -> Result<(T, Params), Problem> {
        let parts: Vec<&str> = split(path).collect();
        let mut allowed = Vec::new();
        for route in &self.routes {
            let Some(params) = match_segments(&route.segments, &parts)? else {
                continue;
            };
            if route.method == method {
                return Ok((route.target.clone(), params));
            }
            allowed.push(route.method.clone());
        }
        if allowed.is_empty() {
            Err(Problem::not_found())
        } else {
            Err(Problem::method_not_allowed(&allowed))
        }
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|segment| !segment.is_empty())
}

fn match_segments(segments: &[Segment], parts: &[&str]) -> Result<Option<Params>, Problem> {
    if segments.len() != parts.len() {
        return Ok(None);
    }
    let mut params = Vec::new();
    for (segment, part) in segments.iter().zip(parts) {
        match segment {
            Segment::Literal(literal) if literal == part => {}
            Segment::Literal(_) => return Ok(None),
            Segment::Param(name) => {
                let value = percent_decode_str(part)
                    .decode_utf8()
                    .map_err(|_| Problem::bad_request("a path segment is not valid UTF-8"))?;
                // No Postgres text can hold NUL: an id with `%00` is refused here, not by the database (a 500).
                if value.contains('\0') {
                    return Err(Problem::bad_request("a path segment contains a NUL character"));
                }
                params.push((name.clone(), value.into_owned()));
            }
        }
    }
    Ok(Some(Params(params)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Op {
        List,
        Get,
        Password,
    }

    fn router() -> Router<Op> {
        Router::new().route(Method::GET, "/users", Op::List).route(Method::GET, "/users/{id}", Op::Get).route(
            Method::PUT,
            "/users/{id}/password",
            Op::Password,
        )
    }

    #[test]
    fn matches_literals_and_decoded_params() {
        let (op, params) = router().at(&Method::GET, "/users/a%20b").unwrap();
        assert_eq!(op, Op::Get);
        assert_eq!(params.get("id"), Some("a b"));
        assert_eq!(router().at(&Method::GET, "/users/").unwrap().0, Op::List);
        assert_eq!(router().at(&Method::PUT, "/users/1/password").unwrap().0, Op::Password);
        assert_eq!(router().at(&Method::HEAD, "/users/1").unwrap().0, Op::Get);
    }

    #[test]
    fn unknown_path_is_404_and_wrong_method_is_405_with_allow() {
        assert_eq!(router().at(&Method::GET, "/nope").unwrap_err().status, 404);
        let problem = router().at(&Method::DELETE, "/users/1/password").unwrap_err();
        assert_eq!(problem.status, 405);
        assert_eq!(problem.into_response().headers()["allow"], "PUT");
    }

    #[test]
    fn invalid_utf8_param_is_400() {
        assert_eq!(router().at(&Method::GET, "/users/%ff").unwrap_err().status, 400);
    }

    #[test]
    fn a_nul_in_a_param_is_400_before_any_handler_sees_it() {
        assert_eq!(router().at(&Method::GET, "/users/a%00b").unwrap_err().status, 400);
        assert_eq!(router().at(&Method::GET, "/users/%01").unwrap().1.get("id"), Some("\u{1}"));
    }
}
