//! The public route table: which component owns each path prefix, and who may call it.
//!
//! | prefix | component | access |
//! |---|---|---|
//! | `/auth` | auth | public |
//! | `/.well-known` | auth | public |
//! | `/users` | users | authenticated |
//! | `/products` | products | reads public, writes authenticated |
//! | `/categories` | products | reads public, writes authenticated |
//! | `/orders` | orders | authenticated |
//! | `/analytics/dashboard` | analytics | public (a static page; its data needs an admin token) |
//! | `/analytics` | analytics | authenticated |
//!
//! Role checks (admin-only writes, a customer touching only their own data) belong to the owning service,
//! which knows its resources; the gateway establishes who the caller is.

use percent_encoding::percent_decode_str;

use crate::error::Error;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone; a token, if sent, must still be valid.
    Public,
    /// `GET`/`HEAD` for anyone, other methods need a valid token.
    PublicReads,
    /// A valid token is required.
    Authenticated,
}

/// A public route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The path prefix (a whole segment: `/users` matches `/users` and `/users/...`, not `/usersx`).
    pub prefix: &'static str,
    /// The owning component (its Spin component id).
    pub component: &'static str,
    /// Who may call it.
    pub access: Access,
}

/// Every public route, in match order.
pub const ROUTES: &[Route] = &[
    Route { prefix: "/auth", component: "auth", access: Access::Public },
    Route { prefix: "/.well-known", component: "auth", access: Access::Public },
    Route { prefix: "/users", component: "users", access: Access::Authenticated },
    Route { prefix: "/products", component: "products", access: Access::PublicReads },
    Route { prefix: "/categories", component: "products", access: Access::PublicReads },
    Route { prefix: "/orders", component: "orders", access: Access::Authenticated },
    Route { prefix: "/analytics/dashboard", component: "analytics", access: Access::Public },
    Route { prefix: "/analytics", component: "analytics", access: Access::Authenticated },
];

/// The components behind the gateway (for the aggregated health check).
pub const SERVICES: &[&str] = &["auth", "users", "products", "orders", "analytics"];

/// The route owning `path`.
pub fn find(path: &str) -> Option<&'static Route> {
    ROUTES
        .iter()
        .find(|route| path.strip_prefix(route.prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
}

/// Refuses paths the gateway must never forward: 400 for dot segments, encoded slashes or invalid
/// encoding (they would mean different things to different parsers), 404 for anything under an `internal`
/// segment (service-to-service routes are reachable by chaining only).
pub fn check_path(path: &str) -> Result<(), Error> {
    if !path.starts_with('/') {
        return Err(Error::BadRequest("the request path must be absolute"));
    }
    for segment in path.split('/') {
        let decoded = percent_decode_str(segment)
            .decode_utf8()
            .map_err(|_| Error::BadRequest("the request path is not valid UTF-8"))?;
        if decoded == "." || decoded == ".." {
            return Err(Error::BadRequest("the request path must not contain dot segments"));
        }
        if decoded.contains('/') || decoded.contains('\\') || decoded.contains('\0') {
            return Err(Error::BadRequest("the request path contains an encoded separator"));
        }
        if decoded.eq_ignore_ascii_case("internal") {
            return Err(Error::NotFound);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_whole_segments() {
        assert_eq!(find("/users").map(|r| r.component), Some("users"));
        assert_eq!(find("/users/1/password").map(|r| r.component), Some("users"));
        assert_eq!(find("/usersx"), None);
        assert_eq!(find("/categories/3").map(|r| r.component), Some("products"));
        assert_eq!(find("/.well-known/jwks.json").map(|r| r.component), Some("auth"));
        assert_eq!(find("/"), None);
    }

    #[test]
    fn unsafe_paths_are_refused() {
        assert!(check_path("/users/1").is_ok());
        assert!(matches!(check_path("/users/../internal"), Err(Error::BadRequest(_))));
        assert!(matches!(check_path("/users/%2e%2e/x"), Err(Error::BadRequest(_))));
        assert!(matches!(check_path("/users/a%2fb"), Err(Error::BadRequest(_))));
        assert!(matches!(check_path("/users/%ff"), Err(Error::BadRequest(_))));
        assert!(matches!(check_path("/internal/users"), Err(Error::NotFound)));
        assert!(matches!(check_path("/users/INTERNAL/x"), Err(Error::NotFound)));
        assert!(matches!(check_path("/users/%69nternal"), Err(Error::NotFound)));
    }
}
