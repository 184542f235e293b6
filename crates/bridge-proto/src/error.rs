//! The error of every bridge call, whatever the transport. It mirrors the WIT `error` variant of
//! `pycommerce:bridge` (see `wit/bridge.wit`).

/// gRPC status codes the mapping distinguishes (numbers from the gRPC spec).
pub mod code {
    /// OK.
    pub const OK: i32 = 0;
    /// INVALID_ARGUMENT.
    pub const INVALID_ARGUMENT: i32 = 3;
    /// DEADLINE_EXCEEDED.
    pub const DEADLINE_EXCEEDED: i32 = 4;
    /// NOT_FOUND.
    pub const NOT_FOUND: i32 = 5;
    /// PERMISSION_DENIED.
    pub const PERMISSION_DENIED: i32 = 7;
    /// FAILED_PRECONDITION.
    pub const FAILED_PRECONDITION: i32 = 9;
    /// UNAVAILABLE.
    pub const UNAVAILABLE: i32 = 14;
}

/// Why a bridge call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BridgeError {
    /// The product, user or order does not exist (NOT_FOUND).
    #[error("not found: {0}")]
    NotFound(String),
    /// The user on whose behalf the call is made may not do it: inactive or deleted (PERMISSION_DENIED).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Not enough stock for a line (FAILED_PRECONDITION).
    #[error("insufficient stock: {0}")]
    InsufficientStock(String),
    /// The request is malformed (INVALID_ARGUMENT).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The bridge or its database cannot answer now (UNAVAILABLE, DEADLINE_EXCEEDED, transport failures,
    /// anything unexpected). Safe to retry for idempotent calls.
    #[error("bridge unavailable: {0}")]
    Unavailable(String),
}

impl BridgeError {
    /// The error for a non-OK gRPC status.
    pub fn from_status(code: i32, message: impl Into<String>) -> Self {
        let message = message.into();
        match code {
            code::NOT_FOUND => BridgeError::NotFound(message),
            code::PERMISSION_DENIED => BridgeError::Forbidden(message),
            code::FAILED_PRECONDITION => BridgeError::InsufficientStock(message),
            code::INVALID_ARGUMENT => BridgeError::Invalid(message),
            _ => BridgeError::Unavailable(message),
        }
    }

    /// The gRPC status code a server answers for this error.
    pub fn code(&self) -> i32 {
        match self {
            BridgeError::NotFound(_) => code::NOT_FOUND,
            BridgeError::Forbidden(_) => code::PERMISSION_DENIED,
            BridgeError::InsufficientStock(_) => code::FAILED_PRECONDITION,
            BridgeError::Invalid(_) => code::INVALID_ARGUMENT,
            BridgeError::Unavailable(_) => code::UNAVAILABLE,
        }
    }
}

#[cfg(feature = "grpc")]
impl From<tonic::Status> for BridgeError {
    fn from(status: tonic::Status) -> Self {
        BridgeError::from_status(status.code() as i32, status.message())
    }
}

#[cfg(feature = "grpc")]
impl From<BridgeError> for tonic::Status {
    fn from(error: BridgeError) -> Self {
        let message = match &error {
            BridgeError::NotFound(m)
            | BridgeError::Forbidden(m)
            | BridgeError::InsufficientStock(m)
            | BridgeError::Invalid(m) => m.clone(),
            BridgeError::Unavailable(m) => m.clone(),
        };
        tonic::Status::new(tonic::Code::from_i32(error.code()), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_round_trip() {
        for error in [
            BridgeError::NotFound("x".into()),
            BridgeError::InsufficientStock("x".into()),
            BridgeError::Invalid("x".into()),
            BridgeError::Unavailable("x".into()),
        ] {
            assert_eq!(BridgeError::from_status(error.code(), "x"), error);
        }
        assert!(matches!(BridgeError::from_status(code::DEADLINE_EXCEEDED, "t"), BridgeError::Unavailable(_)));
        assert!(matches!(BridgeError::from_status(13, "internal"), BridgeError::Unavailable(_)));
    }
}
