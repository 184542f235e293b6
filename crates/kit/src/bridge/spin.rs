//! Spin backend of the Bridge port: the `pycommerce:bridge` imports. The call blocks this component's
//! executor until the dependency answers (it bounds every call by `bridge_timeout_ms`).

use bridge_proto::catalog::v1::{CheckStockResponse, Product, ReserveStockResponse, ReservedLine, StockLine};
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
#[derive(Debug, Clone, Copy)]
pub struct Bridge;

impl Bridge {
    /// The bridge; the dependency reads `bridge_url` and `bridge_timeout_ms` itself.
    pub fn from_config(_config: &crate::Config) -> Result<Self, crate::config::ConfigError> {
        Ok(Self)
    }

    /// `ProductService.GetProductById`.
    pub async fn get_product(&self, product_id: &str) -> Result<Product, BridgeError> {
        let product = catalog::get_product_by_id(product_id)?;
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
        let check = catalog::check_stock(product_id, quantity)?;
        Ok(CheckStockResponse { available: check.available, in_stock: check.in_stock })
    }

    /// `ProductService.ReserveStock` (all or nothing; idempotent per `order_id`).
    pub async fn reserve_stock(
        &self,
        order_id: &str,
        items: &[StockLine],
    ) -> Result<ReserveStockResponse, BridgeError> {
        let items: Vec<catalog::StockLine> = items
            .iter()
            .map(|line| catalog::StockLine { product_id: line.product_id.clone(), quantity: line.quantity })
            .collect();
        let reservation = catalog::reserve_stock(order_id, &items)?;
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
        })
    }

    /// `ProductService.ReleaseStock`: whether units went back to stock now.
    pub async fn release_stock(&self, order_id: &str) -> Result<bool, BridgeError> {
        Ok(catalog::release_stock(order_id)?)
    }

    /// `UserService.GetUserById`.
    pub async fn get_user(&self, user_id: &str) -> Result<User, BridgeError> {
        let user = accounts::get_user_by_id(user_id)?;
        Ok(User { id: user.id, email: user.email, full_name: user.full_name, role: user.role, active: user.active })
    }

    /// `UserService.IsUserActive`.
    pub async fn is_user_active(&self, user_id: &str) -> Result<bool, BridgeError> {
        Ok(accounts::is_user_active(user_id)?)
    }

    /// `OutboxService.PublishPending`: asks the relay to publish now; whether the bridge runs a relay.
    pub async fn publish_pending(&self, aggregate_id: &str) -> Result<bool, BridgeError> {
        Ok(events::publish_pending(aggregate_id)?)
    }
}
