//! Native backend of the Bridge port: the bridge's ProductService, UserService and OutboxService through a
//! tonic client.
//!
//! Every call has a deadline. Every operation is idempotent (lookups trivially, `reserve_stock` per order
//! id, `release_stock` by design), so a call that fails as *unavailable* (transport error, UNAVAILABLE,
//! deadline) is retried — at most twice, with a short backoff — and any other error is returned at once.
//!
//! Every call carries the bridge token (`authorization: Bearer …`) and, on a client made with
//! [`Bridge::for_request`], the caller's `x-request-id`.

use std::future::Future;
use std::time::Duration;

use bridge_proto::catalog::v1::product_service_client::ProductServiceClient;
use bridge_proto::catalog::v1::{
    CheckStockRequest, CheckStockResponse, GetProductByIdRequest, Product, ReleaseStockRequest, ReserveStockRequest,
    ReserveStockResponse, StockLine, UnitsCap,
};
use bridge_proto::events::v1::outbox_service_client::OutboxServiceClient;
use bridge_proto::events::v1::PublishPendingRequest;
use bridge_proto::users::v1::user_service_client::UserServiceClient;
use bridge_proto::users::v1::{GetUserByIdRequest, IsUserActiveRequest, User};
use bridge_proto::BridgeError;
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tonic::transport::{Channel, Endpoint};

/// Backoff before each retry of an unavailable call.
const RETRY_BACKOFF: [Duration; 2] = [Duration::from_millis(50), Duration::from_millis(200)];

/// A client of the bridge. Cheap to clone; connects lazily and reconnects by itself.
#[derive(Clone)]
pub struct Bridge {
    channel: Channel,
    timeout: Duration,
    /// `Bearer <token>`, marked sensitive so no header dump shows it.
    authorization: AsciiMetadataValue,
    request_id: Option<AsciiMetadataValue>,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Bridge")
            .field("timeout", &self.timeout)
            .field("request_id", &self.request_id)
            .finish_non_exhaustive()
    }
}

impl Bridge {
    /// A client for the bridge at `url` (`http://host:50051`) presenting `token`, each attempt bounded by
    /// `timeout`.
    pub fn connect(url: &str, token: &str, timeout: Duration) -> Result<Self, BridgeError> {
        let endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|error| BridgeError::Invalid(format!("bridge url: {error}")))?
            .connect_timeout(timeout)
            .timeout(timeout);
        // The error names no part of the token: it is a secret.
        let mut authorization = AsciiMetadataValue::try_from(format!("Bearer {}", token.trim()))
            .map_err(|_| BridgeError::Invalid("bridge token: not a valid header value".to_owned()))?;
        authorization.set_sensitive(true);
        Ok(Self { channel: endpoint.connect_lazy(), timeout, authorization, request_id: None })
    }

    /// The client of a component's `bridge_url` and `bridge_token` variables, with `bridge_timeout_ms`
    /// (default 2 s).
    pub fn from_config(config: &crate::Config) -> Result<Self, crate::config::ConfigError> {
        let timeout = config.millis_or("bridge_timeout_ms", Duration::from_secs(2))?;
        let token = config.require("bridge_token")?;
        Self::connect(&config.require("bridge_url")?, &token, timeout).map_err(|error| {
            crate::config::ConfigError::Invalid { name: "bridge_url".to_owned(), reason: error.to_string() }
        })
    }

    /// This client for one incoming request: each call sends its `x-request-id`, so the bridge's access log
    /// joins the caller's. An absent or unusable id sends none.
    #[must_use]
    pub fn for_request(&self, request: &crate::Request) -> Self {
        self.with_request_id(crate::http::request_id(request))
    }

    /// This client sending `request_id` (at most 128 characters, else none) as `x-request-id`.
    #[must_use]
    pub fn with_request_id(&self, request_id: Option<&str>) -> Self {
        let request_id = request_id
            .filter(|id| !id.is_empty() && id.len() <= 128)
            .and_then(|id| AsciiMetadataValue::try_from(id).ok());
        Self { request_id, ..self.clone() }
    }

    /// `message` with the token and the request id.
    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        let metadata: &mut MetadataMap = request.metadata_mut();
        metadata.insert("authorization", self.authorization.clone());
        if let Some(id) = &self.request_id {
            metadata.insert(crate::http::X_REQUEST_ID, id.clone());
        }
        request
    }

    async fn call<T, F, Fut>(&self, operation: &'static str, attempt: F) -> Result<T, BridgeError>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<T, tonic::Status>>,
    {
        let mut backoff = RETRY_BACKOFF.iter();
        loop {
            let error = match tokio::time::timeout(self.timeout, attempt(self.channel.clone())).await {
                Ok(Ok(value)) => return Ok(value),
                // A refused token is a configuration error that no retry fixes.
                Ok(Err(status)) if status.code() == tonic::Code::Unauthenticated => {
                    return Err(BridgeError::from(status))
                }
                Ok(Err(status)) => BridgeError::from(status),
                Err(_) => BridgeError::Unavailable(format!("{operation} timed out")),
            };
            match (&error, backoff.next()) {
                (BridgeError::Unavailable(_), Some(delay)) => {
                    tracing::warn!(operation, %error, "bridge call failed; retrying");
                    tokio::time::sleep(*delay).await;
                }
                _ => return Err(error),
            }
        }
    }

    /// `ProductService.GetProductById`.
    pub async fn get_product(&self, product_id: &str) -> Result<Product, BridgeError> {
        self.call("GetProductById", |channel| async move {
            let request = GetProductByIdRequest { product_id: product_id.to_owned() };
            ProductServiceClient::new(channel)
                .get_product_by_id(self.request(request))
                .await
                .map(tonic::Response::into_inner)
        })
        .await
    }

    /// `ProductService.CheckStock`.
    pub async fn check_stock(&self, product_id: &str, quantity: i32) -> Result<CheckStockResponse, BridgeError> {
        self.call("CheckStock", |channel| async move {
            let request = CheckStockRequest { product_id: product_id.to_owned(), quantity };
            ProductServiceClient::new(channel).check_stock(self.request(request)).await.map(tonic::Response::into_inner)
        })
        .await
    }

    /// `ProductService.ReserveStock` (all or nothing; idempotent per `order_id`); with `user_id`, only for
    /// an active user (PERMISSION_DENIED otherwise), so placing an order takes one call, and with a
    /// `units_cap` only within it (`units_cap_exceeded` set otherwise, nothing reserved).
    pub async fn reserve_stock(
        &self,
        order_id: &str,
        user_id: Option<&str>,
        items: &[StockLine],
        units_cap: Option<UnitsCap>,
    ) -> Result<ReserveStockResponse, BridgeError> {
        self.call("ReserveStock", |channel| async move {
            let request = ReserveStockRequest {
                order_id: order_id.to_owned(),
                user_id: user_id.unwrap_or_default().to_owned(),
                items: items.to_vec(),
                units_cap,
            };
            ProductServiceClient::new(channel)
                .reserve_stock(self.request(request))
                .await
                .map(tonic::Response::into_inner)
        })
        .await
    }

    /// `ProductService.ReleaseStock`: whether units went back to stock now.
    pub async fn release_stock(&self, order_id: &str) -> Result<bool, BridgeError> {
        self.call("ReleaseStock", |channel| async move {
            let request = ReleaseStockRequest { order_id: order_id.to_owned() };
            ProductServiceClient::new(channel)
                .release_stock(self.request(request))
                .await
                .map(|r| r.into_inner().released)
        })
        .await
    }

    /// `UserService.GetUserById`.
    pub async fn get_user(&self, user_id: &str) -> Result<User, BridgeError> {
        self.call("GetUserById", |channel| async move {
            let request = GetUserByIdRequest { user_id: user_id.to_owned() };
            UserServiceClient::new(channel).get_user_by_id(self.request(request)).await.map(tonic::Response::into_inner)
        })
        .await
    }

    /// `UserService.IsUserActive`.
    pub async fn is_user_active(&self, user_id: &str) -> Result<bool, BridgeError> {
        self.call("IsUserActive", |channel| async move {
            let request = IsUserActiveRequest { user_id: user_id.to_owned() };
            UserServiceClient::new(channel).is_user_active(self.request(request)).await.map(|r| r.into_inner().active)
        })
        .await
    }

    /// `OutboxService.PublishPending`: asks the relay to publish now; whether the bridge runs a relay. One
    /// attempt, no retry: a lost request only delays the event until the relay's own next look.
    pub async fn publish_pending(&self, aggregate_id: &str) -> Result<bool, BridgeError> {
        let request = PublishPendingRequest { aggregate_id: aggregate_id.to_owned() };
        let mut client = OutboxServiceClient::new(self.channel.clone());
        match tokio::time::timeout(self.timeout, client.publish_pending(self.request(request))).await {
            Ok(Ok(response)) => Ok(response.into_inner().relay_running),
            Ok(Err(status)) => Err(BridgeError::from(status)),
            Err(_) => Err(BridgeError::Unavailable("PublishPending timed out".to_owned())),
        }
    }
}
