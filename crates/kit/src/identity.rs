//! The caller identity the gateway verifies and forwards.
//!
//! Services are private (reachable only through the gateway by service chaining), and the gateway drops
//! every client-sent `x-pc-*` header, so these headers can be trusted inside a service.

use http::HeaderMap;
use serde::{Deserialize, Serialize};

use crate::http::{header_str, X_PC_ROLE, X_PC_USER_ID};
use crate::problem::Problem;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A shopper: reads the catalog, manages only their own account and orders.
    Customer,
    /// Staff: manages the catalog, users and every order.
    Admin,
    /// A native service (the bridge) calling a service-only route such as the analytics ingest. Only tokens
    /// signed by a service key carry it, and no user can hold it.
    Service,
}

impl Role {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Admin => "admin",
            Role::Service => "service",
        }
    }

    /// Parses the wire name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "customer" => Some(Role::Customer),
            "admin" => Some(Role::Admin),
            "service" => Some(Role::Service),
            _ => None,
        }
    }
}

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user's id (a UUID in canonical form).
    pub user_id: String,
    /// The user's role when the token was issued.
    pub role: Role,
}

impl Identity {
    /// The identity forwarded by the gateway, if the request carries a well-formed one.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let user_id = header_str(headers, X_PC_USER_ID)?;
        let user_id = uuid::Uuid::parse_str(user_id).ok()?.hyphenated().to_string();
        let role = Role::parse(header_str(headers, X_PC_ROLE)?)?;
        Some(Self { user_id, role })
    }

    /// The forwarded identity, or 401 when the request is anonymous.
    pub fn require(headers: &HeaderMap) -> Result<Self, Problem> {
        Self::from_headers(headers).ok_or_else(|| Problem::unauthorized("authentication is required"))
    }

    /// Whether the caller is an admin.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The forwarded identity of an admin: 401 when anonymous, 403 otherwise.
    pub fn require_admin(headers: &HeaderMap) -> Result<Self, Problem> {
        let identity = Self::require(headers)?;
        if identity.is_admin() {
            Ok(identity)
        } else {
            Err(Problem::forbidden("this operation needs the admin role"))
        }
    }
}

impl Identity {
    /// The forwarded identity of a service: 401 when anonymous, 403 for a user.
    pub fn require_service(headers: &HeaderMap) -> Result<Self, Problem> {
        let identity = Self::require(headers)?;
        if identity.role == Role::Service {
            Ok(identity)
        } else {
            Err(Problem::forbidden("this operation is for services only"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_needs_a_uuid_and_a_known_role() {
        let mut headers = HeaderMap::new();
        headers.insert(X_PC_USER_ID, "0190A0C2-0000-7000-8000-000000000001".parse().unwrap());
        headers.insert(X_PC_ROLE, "admin".parse().unwrap());
        let identity = Identity::from_headers(&headers).unwrap();
        assert_eq!(identity.user_id, "0190a0c2-0000-7000-8000-000000000001");
        assert!(identity.is_admin());
        headers.insert(X_PC_ROLE, "root".parse().unwrap());
        assert_eq!(Identity::from_headers(&headers), None);
        headers.insert(X_PC_ROLE, "customer".parse().unwrap());
        assert_eq!(Identity::require_admin(&headers).unwrap_err().status, 403);
        headers.insert(X_PC_USER_ID, "1 OR 1=1".parse().unwrap());
        assert_eq!(Identity::require(&headers).unwrap_err().status, 401);
    }
}
