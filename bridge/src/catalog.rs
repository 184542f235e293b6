//! `pycommerce.catalog.v1.ProductService` over the `catalog` schema.
//!
//! Stock is never oversold: a reservation decrements each line with a conditional update
//! (`stock >= quantity`) inside one transaction, lines locked in product-id order (no deadlocks between
//! concurrent orders), and the whole reservation rolls back if any line is short. The order id is claimed
//! first (`INSERT ... ON CONFLICT DO NOTHING`), so a repeated or concurrent call for the same order reserves
//! once. Every stock change bumps `catalog.version`, so cached catalog listings show it at once.

use std::collections::HashSet;

use bridge_proto::catalog::v1::product_service_server::ProductService;
use bridge_proto::catalog::v1::{
    CheckStockRequest, CheckStockResponse, GetProductByIdRequest, Product, ReleaseStockRequest, ReleaseStockResponse,
    ReserveStockRequest, ReserveStockResponse, ReservedLine,
};
use bridge_proto::limits::{MAX_LINES, MAX_QUANTITY};
use bridge_proto::BridgeError;
use tonic::{Request, Response, Status};

use crate::db::{column, unavailable, uuid_arg, Database};

/// The catalog service.
#[derive(Clone)]
pub struct Catalog {
    db: Database,
}

impl Catalog {
    /// The service over `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// `GetProductById`.
    pub async fn product(&self, id: &str) -> Result<Product, BridgeError> {
        let id = uuid_arg(id, "product_id")?;
        let row = self
            .db
            .run(async |client| {
                client
                    .query_opt(
                        "SELECT id, sku, name, price_cents, currency, stock, active FROM catalog.products WHERE id = $1",
                        &[&id],
                    )
                    .await
                    .map_err(|e| unavailable(&e))
            })
            .await?
            .ok_or_else(|| BridgeError::NotFound(format!("product {id} does not exist")))?;
        Ok(Product {
            id: column::<uuid::Uuid>(&row, "id")?.to_string(),
            sku: column(&row, "sku")?,
            name: column(&row, "name")?,
            price_cents: column(&row, "price_cents")?,
            currency: column(&row, "currency")?,
            stock: column(&row, "stock")?,
            active: column(&row, "active")?,
        })
    }

    /// `CheckStock`.
    pub async fn check_stock(&self, id: &str, quantity: i32) -> Result<CheckStockResponse, BridgeError> {
        check_quantity(quantity)?;
        let product = self.product(id).await?;
        if !product.active {
            return Err(BridgeError::NotFound(format!("product {} is not for sale", product.id)));
        }
        Ok(CheckStockResponse { available: product.stock >= quantity, in_stock: product.stock })
    }

    /// `ReserveStock`: all lines or none; once per order id.
    pub async fn reserve(&self, request: ReserveStockRequest) -> Result<ReserveStockResponse, BridgeError> {
        let order_id = uuid_arg(&request.order_id, "order_id")?;
        if request.items.is_empty() || request.items.len() > MAX_LINES {
            return Err(BridgeError::Invalid(format!("an order has 1 to {MAX_LINES} lines")));
        }
        let mut lines = Vec::with_capacity(request.items.len());
        let mut seen = HashSet::new();
        for item in &request.items {
            let product_id = uuid_arg(&item.product_id, "items.product_id")?;
            check_quantity(item.quantity)?;
            if !seen.insert(product_id) {
                return Err(BridgeError::Invalid(format!("product {product_id} appears on two lines")));
            }
            lines.push((product_id, item.quantity));
        }
        // A fixed lock order: two orders touching the same products cannot deadlock.
        lines.sort_by_key(|(product_id, _)| *product_id);

        let outcome = self
            .db
            .run(async |client| {
                let transaction = client.transaction().await.map_err(|e| unavailable(&e))?;
                let claimed = transaction
                    .execute(
                        "INSERT INTO catalog.stock_reservations (order_id) VALUES ($1) ON CONFLICT (order_id) DO NOTHING",
                        &[&order_id],
                    )
                    .await
                    .map_err(|e| unavailable(&e))?;
                if claimed == 0 {
                    // Reserved before (or concurrently, and that transaction committed): answer the same.
                    let existing = reserved_lines(&transaction, order_id).await?;
                    transaction.rollback().await.map_err(|e| unavailable(&e))?;
                    return Ok(ReserveStockResponse { newly_reserved: false, lines: existing });
                }
                let mut reserved = Vec::with_capacity(lines.len());
                for (product_id, quantity) in &lines {
                    let row = transaction
                        .query_opt(
                            "UPDATE catalog.products SET stock = stock - $2, updated_at = now() \
                             WHERE id = $1 AND active AND stock >= $2 RETURNING name, price_cents, currency",
                            &[product_id, quantity],
                        )
                        .await
                        .map_err(|e| unavailable(&e))?;
                    let Some(row) = row else {
                        let why = shortage(&transaction, *product_id, *quantity).await?;
                        transaction.rollback().await.map_err(|e| unavailable(&e))?;
                        return Err(why);
                    };
                    reserved.push(ReservedLine {
                        product_id: product_id.to_string(),
                        quantity: *quantity,
                        name: column(&row, "name")?,
                        unit_price_cents: column(&row, "price_cents")?,
                        currency: column(&row, "currency")?,
                    });
                }
                for line in &reserved {
                    let product_id = uuid::Uuid::parse_str(&line.product_id).map_err(|e| unavailable(&e))?;
                    transaction
                        .execute(
                            "INSERT INTO catalog.stock_reservation_lines \
                             (order_id, product_id, quantity, name, unit_price_cents, currency) \
                             VALUES ($1, $2, $3, $4, $5, $6)",
                            &[&order_id, &product_id, &line.quantity, &line.name, &line.unit_price_cents, &line.currency],
                        )
                        .await
                        .map_err(|e| unavailable(&e))?;
                }
                bump_catalog_version(&transaction).await?;
                transaction.commit().await.map_err(|e| unavailable(&e))?;
                Ok(ReserveStockResponse { newly_reserved: true, lines: reserved })
            })
            .await?;
        if outcome.newly_reserved {
            tracing::info!(%order_id, lines = outcome.lines.len(), "stock reserved");
        }
        Ok(outcome)
    }

    /// `ReleaseStock`: gives an order's units back, once.
    pub async fn release(&self, order_id: &str) -> Result<ReleaseStockResponse, BridgeError> {
        let order_id = uuid_arg(order_id, "order_id")?;
        let released = self
            .db
            .run(async |client| {
                let transaction = client.transaction().await.map_err(|e| unavailable(&e))?;
                let marked = transaction
                    .execute(
                        "UPDATE catalog.stock_reservations SET released_at = now() \
                         WHERE order_id = $1 AND released_at IS NULL",
                        &[&order_id],
                    )
                    .await
                    .map_err(|e| unavailable(&e))?;
                if marked == 1 {
                    transaction
                        .execute(
                            "UPDATE catalog.products p SET stock = p.stock + l.quantity, updated_at = now() \
                             FROM catalog.stock_reservation_lines l WHERE l.order_id = $1 AND p.id = l.product_id",
                            &[&order_id],
                        )
                        .await
                        .map_err(|e| unavailable(&e))?;
                    bump_catalog_version(&transaction).await?;
                }
                transaction.commit().await.map_err(|e| unavailable(&e))?;
                Ok(marked == 1)
            })
            .await?;
        if released {
            tracing::info!(%order_id, "stock released");
        }
        Ok(ReleaseStockResponse { released })
    }
}

fn check_quantity(quantity: i32) -> Result<(), BridgeError> {
    if (1..=MAX_QUANTITY).contains(&quantity) {
        Ok(())
    } else {
        Err(BridgeError::Invalid(format!("quantity must be 1 to {MAX_QUANTITY}")))
    }
}

/// Why a line could not be reserved: NOT_FOUND (unknown or inactive) or FAILED_PRECONDITION (short).
async fn shortage(
    transaction: &deadpool_postgres::Transaction<'_>,
    product_id: uuid::Uuid,
    quantity: i32,
) -> Result<BridgeError, BridgeError> {
    let row = transaction
        .query_opt("SELECT stock, active FROM catalog.products WHERE id = $1", &[&product_id])
        .await
        .map_err(|e| unavailable(&e))?;
    Ok(match row {
        Some(row) if column::<bool>(&row, "active")? => {
            let stock: i32 = column(&row, "stock")?;
            BridgeError::InsufficientStock(format!("product {product_id}: {quantity} wanted, {stock} in stock"))
        }
        _ => BridgeError::NotFound(format!("product {product_id} is not for sale")),
    })
}

async fn reserved_lines(
    transaction: &deadpool_postgres::Transaction<'_>,
    order_id: uuid::Uuid,
) -> Result<Vec<ReservedLine>, BridgeError> {
    let rows = transaction
        .query(
            "SELECT product_id, quantity, name, unit_price_cents, currency FROM catalog.stock_reservation_lines \
             WHERE order_id = $1 ORDER BY product_id",
            &[&order_id],
        )
        .await
        .map_err(|e| unavailable(&e))?;
    rows.iter()
        .map(|row| {
            Ok(ReservedLine {
                product_id: column::<uuid::Uuid>(row, "product_id")?.to_string(),
                quantity: column(row, "quantity")?,
                name: column(row, "name")?,
                unit_price_cents: column(row, "unit_price_cents")?,
                currency: column(row, "currency")?,
            })
        })
        .collect()
}

async fn bump_catalog_version(transaction: &deadpool_postgres::Transaction<'_>) -> Result<(), BridgeError> {
    transaction
        .execute("UPDATE catalog.version SET value = value + 1", &[])
        .await
        .map(|_| ())
        .map_err(|e| unavailable(&e))
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
