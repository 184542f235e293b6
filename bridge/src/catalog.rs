//! `pycommerce.catalog.v1.ProductService`, over the catalog's own code: product reads through the products
//! component's store, reservations through the `reservations` crate (the catalog's state machine). The
//! bridge writes no SQL on `catalog.*` itself.
//!
//! Stock is never oversold: a reservation locks its products in id order and takes every line or none, in one
//! statement. It is *held* until the orders component writes the order (which commits it in the same
//! statement) and expires otherwise: the [`crate::sweeper`] gives the units back.
//!
//! A reservation for a user may carry a units cap: the user's held and committed reservations within its
//! window, this one included, hold at most so many units of each product, counted one reservation of that
//! user at a time (`reservations::UnitsCap`).

use std::time::Duration;

use bridge_proto::catalog::v1::product_service_server::ProductService;
use bridge_proto::catalog::v1::{
    CheckStockRequest, CheckStockResponse, GetProductByIdRequest, Product, ReleaseStockRequest, ReleaseStockResponse,
    ReserveStockRequest, ReserveStockResponse, ReservedLine, UnitsCapExceeded,
};
use bridge_proto::limits::{MAX_QUANTITY, MAX_UNITS_CAP_WINDOW_SECS};
use bridge_proto::BridgeError;
use kit::db::Db;
use products::store::Store;
use reservations::Line;
use tonic::{Request, Response, Status};

use crate::db::{unavailable, uuid_arg};
use crate::users::Users;

/// The catalog service.
#[derive(Clone)]
pub struct Catalog {
    db: Db,
    store: Store,
    users: Users,
    hold: Duration,
}

impl Catalog {
    /// The service over `db`; reservations are held for `hold` until their order is written.
    pub fn new(db: Db, hold: Duration) -> Self {
        Self { store: Store::new(db.clone()), users: Users::new(db.clone()), db, hold }
    }

    /// `GetProductById`: products for sale (inactive ones are NOT_FOUND, as in the public API).
    pub async fn product(&self, id: &str) -> Result<Product, BridgeError> {
        let id = uuid_arg(id, "product_id")?;
        let product = self
            .store
            .product(id, false)
            .await
            .map_err(|error| unavailable(&error))?
            .ok_or_else(|| BridgeError::NotFound(format!("product {id} is not for sale")))?;
        Ok(Product {
            id: product.id.to_string(),
            sku: product.sku,
            name: product.name,
            price_cents: product.price.cents,
            currency: product.price.currency,
            stock: product.stock,
            active: product.active,
        })
    }

    /// `CheckStock`.
    pub async fn check_stock(&self, id: &str, quantity: i32) -> Result<CheckStockResponse, BridgeError> {
        if !(1..=MAX_QUANTITY).contains(&quantity) {
            return Err(BridgeError::Invalid(format!("quantity must be 1 to {MAX_QUANTITY}")));
        }
        let product = self.product(id).await?;
        Ok(CheckStockResponse { available: product.stock >= quantity, in_stock: product.stock })
    }

    /// `ReserveStock`: all lines or none, once per order id; with a `user_id`, only for an active user
    /// (PERMISSION_DENIED otherwise; the check and the reservation are one call for the orders component),
    /// and with a `units_cap` only within it (`units_cap_exceeded` otherwise, nothing reserved).
    pub async fn reserve(&self, request: ReserveStockRequest) -> Result<ReserveStockResponse, BridgeError> {
        let order_id = uuid_arg(&request.order_id, "order_id")?;
        let cap = request.units_cap.map(units_cap).transpose()?;
        if cap.is_some() && request.user_id.is_empty() {
            return Err(BridgeError::Invalid("units_cap needs a user_id".to_owned()));
        }
        let user_id = match request.user_id.as_str() {
            "" => None,
            user_id => {
                let forbidden = || BridgeError::Forbidden(format!("user {user_id} cannot place orders"));
                match self.users.user(user_id).await {
                    Ok(user) if user.active => {}
                    Ok(_) | Err(BridgeError::NotFound(_)) => return Err(forbidden()),
                    Err(error) => return Err(error),
                }
                Some(uuid_arg(user_id, "user_id")?)
            }
        };
        let lines = request
            .items
            .iter()
            .map(|item| {
                Ok(Line { product_id: uuid_arg(&item.product_id, "items.product_id")?, quantity: item.quantity })
            })
            .collect::<Result<Vec<_>, BridgeError>>()?;
        let reservation = match reservations::reserve(&self.db, order_id, user_id, &lines, self.hold, cap).await {
            Ok(reservation) => reservation,
            Err(reservations::Error::OverCap { product_id, retry_after_secs }) => {
                tracing::info!(%order_id, %product_id, "reservation refused: units cap");
                return Ok(ReserveStockResponse {
                    newly_reserved: false,
                    lines: Vec::new(),
                    units_cap_exceeded: Some(UnitsCapExceeded {
                        product_id: product_id.to_string(),
                        retry_after_secs: i64::try_from(retry_after_secs).unwrap_or(i64::MAX),
                    }),
                });
            }
            Err(error @ reservations::Error::NotForSale(_)) => return Err(BridgeError::NotFound(error.to_string())),
            Err(error @ reservations::Error::Short { .. }) => {
                return Err(BridgeError::InsufficientStock(error.to_string()))
            }
            Err(reservations::Error::Invalid(message)) => return Err(BridgeError::Invalid(message)),
            Err(reservations::Error::Db(error)) => return Err(unavailable(&error)),
        };
        if reservation.newly_reserved {
            tracing::info!(%order_id, lines = reservation.lines.len(), "stock reserved (held)");
        }
        Ok(ReserveStockResponse {
            newly_reserved: reservation.newly_reserved,
            lines: reservation
                .lines
                .into_iter()
                .map(|line| ReservedLine {
                    product_id: line.product_id.to_string(),
                    quantity: line.quantity,
                    name: line.name,
                    unit_price_cents: line.unit_price_cents,
                    currency: line.currency,
                })
                .collect(),
            units_cap_exceeded: None,
        })
    }

    /// `ReleaseStock`: gives back the units of a reservation that is still held (its order was never
    /// written). A committed reservation is released only by cancelling its order.
    pub async fn release(&self, order_id: &str) -> Result<ReleaseStockResponse, BridgeError> {
        let order_id = uuid_arg(order_id, "order_id")?;
        let released = reservations::release_held(&self.db, order_id).await.map_err(|error| unavailable(&error))?;
        if released {
            tracing::info!(%order_id, "held stock released");
        }
        Ok(ReleaseStockResponse { released })
    }
}

/// A request's units cap, checked: at least one unit, a window of one second to ten years.
fn units_cap(cap: bridge_proto::catalog::v1::UnitsCap) -> Result<reservations::UnitsCap, BridgeError> {
    if cap.max_units_per_product < 1 {
        return Err(BridgeError::Invalid("units_cap.max_units_per_product must be at least 1".to_owned()));
    }
    if !(1..=MAX_UNITS_CAP_WINDOW_SECS).contains(&cap.window_secs) {
        return Err(BridgeError::Invalid(format!("units_cap.window_secs must be 1 to {MAX_UNITS_CAP_WINDOW_SECS}")));
    }
    let window = Duration::from_secs(cap.window_secs.unsigned_abs());
    Ok(reservations::UnitsCap { max_units: cap.max_units_per_product, window })
}

#[tonic::async_trait]
impl ProductService for Catalog {
    async fn get_product_by_id(&self, request: Request<GetProductByIdRequest>) -> Result<Response<Product>, Status> {
        Ok(Response::new(self.product(&request.into_inner().product_id).await?))
    }

    async fn check_stock(&self, request: Request<CheckStockRequest>) -> Result<Response<CheckStockResponse>, Status> {
        let request = request.into_inner();
        Ok(Response::new(Catalog::check_stock(self, &request.product_id, request.quantity).await?))
    }

    async fn reserve_stock(
        &self,
        request: Request<ReserveStockRequest>,
    ) -> Result<Response<ReserveStockResponse>, Status> {
        Ok(Response::new(self.reserve(request.into_inner()).await?))
    }

    async fn release_stock(
        &self,
        request: Request<ReleaseStockRequest>,
    ) -> Result<Response<ReleaseStockResponse>, Status> {
        Ok(Response::new(self.release(&request.into_inner().order_id).await?))
    }
}
