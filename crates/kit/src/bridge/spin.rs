//! Spin backend of the Bridge port: the `pycommerce:bridge` imports. The call blocks this component's
//! executor until the dependency answers (it bounds every call by `bridge_timeout_ms`). Each function takes
//! the caller's request id first, which the dependency sends as `x-request-id`; the dependency adds the
//! token from `bridge_token` itself.

use bridge_proto::catalog::v1::{
    CheckStockResponse, Product, ReserveStockResponse, ReservedLine, StockLine, UnitsCap, UnitsCapExceeded,
};
use bridge_proto::users::v1::User;
use bridge_proto::BridgeError;

spin_sdk::wit_bindgen::generate!({
    world: "consumer",
    path: "../../wit",
    runtime_path: "::spin_sdk::wit_bindgen::rt",
});

use pycommerce::bridge::{accounts, catalog, events};

macro_rules! from_wit {
    ($module:ident) => {
        impl From<$module::Error> for BridgeError {
            fn from(error: $module::Error) -> Self {
                match error {
                    $module::Error::NotFound(message) => BridgeError::NotFound(message),
                    $module::Error::Forbidden(message) => BridgeError::Forbidden(message),
                    $module::Error::InsufficientStock(message) => BridgeError::InsufficientStock(message),
                    $module::Error::Invalid(message) => BridgeError::Invalid(message),
                    $module::Error::Unavailable(message) => BridgeError::Unavailable(message),
                }
            }
        }
    };
}
from_wit!(catalog);
from_wit!(accounts);
from_wit!(events);

/// The bridge, through the component dependency.
#[derive(Debug, Clone, Default)]
pub struct Bridge {
    /// Sent as `x-request-id`; empty sends none.
    request_id: String,
}

impl Bridge {
    /// The bridge; the dependency reads `bridge_url`, `bridge_token` and `bridge_timeout_ms` itself.
    pub fn from_config(_config: &crate::Config) -> Result<Self, crate::config::ConfigError> {
        Ok(Self::default())
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
        let request_id = request_id.filter(|id| id.len() <= 128).unwrap_or_default().to_owned();
        Self { request_id }
    }

    /// `ProductService.GetProductById`.
    pub async fn get_product(&self, product_id: &str) -> Result<Product, BridgeError> {
        let product = catalog::get_product_by_id(&self.request_id, product_id)?;
        Ok(Product {
            id: product.id,
            sku: product.sku,
            name: product.name,
            price_cents: product.price_cents,
            currency: product.currency,
            stock: product.stock,
            active: product.active,
        })
    }

    /// `ProductService.CheckStock`.
    pub async fn check_stock(&self, product_id: &str, quantity: i32) -> Result<CheckStockResponse, BridgeError> {
        let check = catalog::check_stock(&self.request_id, product_id, quantity)?;
        Ok(CheckStockResponse { available: check.available, in_stock: check.in_stock })
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
        let items: Vec<catalog::StockLine> = items
            .iter()
            .map(|line| catalog::StockLine { product_id: line.product_id.clone(), quantity: line.quantity })
            .collect();
        let units_cap = units_cap.map(|cap| catalog::UnitsCap {
            max_units_per_product: cap.max_units_per_product,
            window_secs: cap.window_secs,
        });
        let reservation =
            catalog::reserve_stock(&self.request_id, order_id, user_id.unwrap_or_default(), &items, units_cap)?;
        Ok(ReserveStockResponse {
            newly_reserved: reservation.newly_reserved,
            lines: reservation
                .lines
                .into_iter()
                .map(|line| ReservedLine {
                    product_id: line.product_id,
                    quantity: line.quantity,
                    name: line.name,
                    unit_price_cents: line.unit_price_cents,
                    currency: line.currency,
                })
                .collect(),
            units_cap_exceeded: reservation
                .units_cap_exceeded
                .map(|over| UnitsCapExceeded { product_id: over.product_id, retry_after_secs: over.retry_after_secs }),
        })
    }

    /// `ProductService.ReleaseStock`: whether units went back to stock now.
    pub async fn release_stock(&self, order_id: &str) -> Result<bool, BridgeError> {
        Ok(catalog::release_stock(&self.request_id, order_id)?)
    }

    /// `UserService.GetUserById`.
    pub async fn get_user(&self, user_id: &str) -> Result<User, BridgeError> {
        let user = accounts::get_user_by_id(&self.request_id, user_id)?;
        Ok(User { id: user.id, email: user.email, full_name: user.full_name, role: user.role, active: user.active })
    }

    /// `UserService.IsUserActive`.
    pub async fn is_user_active(&self, user_id: &str) -> Result<bool, BridgeError> {
        Ok(accounts::is_user_active(&self.request_id, user_id)?)
    }

    /// `OutboxService.PublishPending`: asks the relay to publish now; whether the bridge runs a relay.
    pub async fn publish_pending(&self, aggregate_id: &str) -> Result<bool, BridgeError> {
        Ok(events::publish_pending(&self.request_id, aggregate_id)?)
    }
}
