//! Every SQL statement of the catalog.
//!
//! Each write is one statement. The catalog version (part of every cache key) is bumped by the database's own
//! triggers after any statement that changed a product or category (migration V51), and a product's
//! `revision` (its ETag) moves with every change of its row, a stock reservation included. Timestamps are read as RFC 3339 text in UTC; the
//! newest/oldest sort key is read as epoch microseconds and bound back as an offset from the epoch, which is
//! exact (Postgres keeps microseconds). Rows decode with serde into the types below (kit's `Db` port).

use kit::db::{Db, Value};
use serde::{Deserialize, Serialize};

use kit::page::Limit;

use crate::domain::{Description, Money, Name, Sku, Slug, Stock};
use crate::error::Error;
use crate::listing::{CategoryRef, Cursor, Filter, Sort, SortKey};

/// The columns of a product row, from a relation aliased `p`.
const PRODUCT_COLUMNS: &str = concat!(
    "p.id, p.sku, p.name, p.description, p.category_id, ",
    "jsonb_build_object('cents', p.price_cents, 'currency', p.currency) AS price, p.stock, p.active, ",
    kit::rfc3339!("p.created_at"),
    " AS created_at, ",
    kit::rfc3339!("p.updated_at"),
    " AS updated_at, (extract(epoch FROM p.created_at) * 1000000)::int8 AS created_us, lower(p.name) AS name_key, \
     p.revision"
);

/// The columns of a category row, from a relation aliased `c`.
const CATEGORY_COLUMNS: &str = concat!(
    "c.id, c.name, c.slug, c.parent_id, ",
    kit::rfc3339!("c.created_at"),
    " AS created_at, ",
    kit::rfc3339!("c.updated_at"),
    " AS updated_at"
);

/// A price as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Price {
    /// Minor units of the currency, >= 0.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, example = 450))]
    pub cents: i64,
    /// ISO 4217 code (upper case).
    #[cfg_attr(feature = "openapi", schema(example = "EUR"))]
    pub currency: String,
}

/// A product as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Product {
    /// Id.
    pub id: uuid::Uuid,
    /// Upper case, unique.
    #[cfg_attr(feature = "openapi", schema(example = "TEA-1"))]
    pub sku: String,
    /// Name.
    pub name: String,
    /// Description (may be empty).
    pub description: String,
    /// Its category, if any.
    pub category_id: Option<uuid::Uuid>,
    /// Unit price.
    pub price: Price,
    /// Units in stock.
    pub stock: i32,
    /// Inactive products are visible to admins only.
    pub active: bool,
    /// Creation time (RFC 3339, UTC).
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    /// Last change (RFC 3339, UTC).
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub updated_at: String,
    #[serde(skip_serializing)]
    created_us: i64,
    #[serde(skip_serializing)]
    name_key: String,
    /// Moves with every change of the product, stock reservations included: the `ETag` and what `If-Match`
    /// compares.
    #[serde(skip_serializing)]
    pub revision: i64,
}

impl Product {
    /// The cursor that continues a listing in `sort` after this product.
    pub fn cursor(&self, sort: Sort) -> Cursor {
        let key = match sort {
            Sort::PriceAsc | Sort::PriceDesc => SortKey::Int(self.price.cents),
            Sort::NameAsc | Sort::NameDesc => SortKey::Text(self.name_key.clone()),
            Sort::Newest | Sort::Oldest => SortKey::Int(self.created_us),
        };
        Cursor::new(sort, key, self.id)
    }
}

/// A category as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Category {
    /// Id.
    pub id: uuid::Uuid,
    /// Unique regardless of case.
    pub name: String,
    /// Unique; lower-case words joined by `-`.
    #[cfg_attr(feature = "openapi", schema(example = "kitchen"))]
    pub slug: String,
    /// The parent category, if any.
    pub parent_id: Option<uuid::Uuid>,
    /// Creation time (RFC 3339, UTC).
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    /// Last change (RFC 3339, UTC).
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub updated_at: String,
}

/// A validated product write (create or full replacement).
#[derive(Debug, Clone)]
pub struct ProductWrite {
    /// SKU.
    pub sku: Sku,
    /// Name.
    pub name: Name,
    /// Description.
    pub description: Description,
    /// Category.
    pub category_id: Option<uuid::Uuid>,
    /// Price.
    pub price: Money,
    /// Stock: required to create; on a replacement, `None` leaves it as it is (reservations change it).
    pub stock: Option<Stock>,
    /// Visible to shoppers.
    pub active: bool,
}

impl ProductWrite {
    fn params(&self) -> Vec<Value> {
        vec![
            self.sku.as_str().into(),
            self.name.as_str().into(),
            self.description.as_str().into(),
            self.category_id.into(),
            self.price.cents.into(),
            self.price.currency.as_str().into(),
            self.stock.map_or(Value::Null, |stock| stock.get().into()),
            self.active.into(),
        ]
    }
}

/// A validated category write.
#[derive(Debug, Clone)]
pub struct CategoryWrite {
    /// Name.
    pub name: Name,
    /// Slug.
    pub slug: Slug,
    /// Parent.
    pub parent_id: Option<uuid::Uuid>,
}

/// What happened to a product update or stock adjustment.
#[derive(Debug, Clone)]
pub enum ProductChange {
    /// Changed.
    Changed(Box<Product>),
    /// No such product.
    NotFound,
    /// Not changed: the revision was not the expected one, or the stock would leave its range; the
    /// product's current revision.
    Refused(i64),
}

/// The outcome row of a conditional product update.
#[derive(Deserialize)]
struct ChangeOutcome {
    revision: Option<i64>,
    product: Option<Product>,
}

impl ChangeOutcome {
    fn into_change(self) -> ProductChange {
        match (self.revision, self.product) {
            (_, Some(product)) => ProductChange::Changed(Box::new(product)),
            (None, None) => ProductChange::NotFound,
            (Some(revision), None) => ProductChange::Refused(revision),
        }
    }
}

/// What happened to a product deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductDeletion {
    /// Deleted.
    Deleted,
    /// No such product.
    NotFound,
    /// Orders (or their reservations) have it: it stays, for their history.
    Ordered,
}

/// What happened to a category deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CategoryDeletion {
    /// Deleted.
    Deleted,
    /// No such category.
    NotFound,
    /// Still used by products or subcategories.
    InUse,
}

/// What happened to a category update.
#[derive(Debug, Clone)]
pub enum CategoryUpdate {
    /// Updated.
    Updated(Category),
    /// No such category.
    NotFound,
    /// The new parent is the category itself or one of its descendants.
    Cycle,
}

/// The catalog's SQL over the Postgres port.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
}

impl Store {
    /// A store on `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The database (for health checks).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The catalog version: it changes with every catalog write.
    pub async fn version(&self) -> Result<i64, Error> {
        #[derive(Deserialize)]
        struct Version {
            value: i64,
        }
        let version: Version = self.db.query_one("SELECT value FROM catalog.version", &[]).await?;
        Ok(version.value)
    }

    /// One product; inactive ones only when `include_inactive`.
    pub async fn product(&self, id: uuid::Uuid, include_inactive: bool) -> Result<Option<Product>, Error> {
        let sql = format!("SELECT {PRODUCT_COLUMNS} FROM catalog.products p WHERE p.id = $1 AND (p.active OR $2)");
        Ok(self.db.query_opt(&sql, &[id.into(), include_inactive.into()]).await?)
    }

    /// The products of one page matching `filter`, and one more when a next page exists
    /// ([`Limit::fetch`](kit::page::Limit::fetch)).
    pub async fn products(&self, filter: &Filter) -> Result<Vec<Product>, Error> {
        let mut query = Query::default();
        let mut with = String::new();
        let mut conditions = Vec::new();
        if !filter.include_inactive {
            conditions.push("p.active".to_owned());
        }
        if let Some(name) = &filter.name {
            // A LIKE pattern: the user's text matches literally (its %, _ and \ are escaped).
            let escaped = name.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            let n = query.bind(format!("%{escaped}%").into());
            conditions.push(format!("lower(p.name) LIKE {n}"));
        }
        if let Some(category) = &filter.category {
            let base = match category {
                CategoryRef::Id(id) => format!("id = {}", query.bind((*id).into())),
                CategoryRef::Slug(slug) => format!("slug = {}", query.bind(slug.as_str().into())),
            };
            with = if filter.include_subcategories {
                format!(
                    "WITH RECURSIVE cats AS (SELECT id FROM catalog.categories WHERE {base} UNION \
                     SELECT c.id FROM catalog.categories c JOIN cats ON c.parent_id = cats.id) "
                )
            } else {
                format!("WITH cats AS (SELECT id FROM catalog.categories WHERE {base}) ")
            };
            conditions.push("p.category_id IN (SELECT id FROM cats)".to_owned());
        }
        if let Some(min) = filter.min_price {
            conditions.push(format!("p.price_cents >= {}", query.bind(min.into())));
        }
        if let Some(max) = filter.max_price {
            conditions.push(format!("p.price_cents <= {}", query.bind(max.into())));
        }
        if let Some(currency) = &filter.currency {
            conditions.push(format!("p.currency = {}", query.bind(currency.as_str().into())));
        }
        match filter.in_stock {
            Some(true) => conditions.push("p.stock > 0".to_owned()),
            Some(false) => conditions.push("p.stock = 0".to_owned()),
            None => {}
        }
        let (key, bound_key) = match filter.sort {
            Sort::PriceAsc | Sort::PriceDesc => ("p.price_cents", "{}"),
            Sort::NameAsc | Sort::NameDesc => ("(lower(p.name) COLLATE \"C\")", "({}::text COLLATE \"C\")"),
            Sort::Newest | Sort::Oldest => {
                ("p.created_at", "(timestamptz 'epoch' + {}::int8 * interval '1 microsecond')")
            }
        };
        let (direction, compare) = if filter.sort.descending() { ("DESC", "<") } else { ("ASC", ">") };
        if let Some(cursor) = &filter.cursor {
            let value = match cursor.key() {
                SortKey::Int(value) => Value::Int64(*value),
                SortKey::Text(value) => Value::Text(value.clone()),
            };
            let k = bound_key.replace("{}", &query.bind(value));
            let id = query.bind(cursor.id().into());
            conditions.push(format!("({key}, p.id) {compare} ({k}, {id}::uuid)"));
        }
        let limit = query.bind(filter.limit.fetch().into());
        let condition = if conditions.is_empty() { "true".to_owned() } else { conditions.join(" AND ") };
        let sql = format!(
            "{with}SELECT {PRODUCT_COLUMNS} FROM catalog.products p WHERE {condition} \
             ORDER BY {key} {direction}, p.id {direction} LIMIT {limit}"
        );
        Ok(self.db.query_all(&sql, &query.params).await?)
    }

    /// Creates a product.
    pub async fn create_product(&self, write: &ProductWrite) -> Result<Product, Error> {
        let sql = format!(
            "WITH changed AS (INSERT INTO catalog.products \
             (sku, name, description, category_id, price_cents, currency, stock, active) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *) \
             SELECT {PRODUCT_COLUMNS} FROM changed p"
        );
        self.db.query_one(&sql, &write.params()).await.map_err(Error::from_write)
    }

    /// Replaces a product's fields (its stock only when the write has one), if its revision is still
    /// `if_match` when given.
    pub async fn update_product(
        &self,
        id: uuid::Uuid,
        write: &ProductWrite,
        if_match: Option<i64>,
    ) -> Result<ProductChange, Error> {
        let sql = format!(
            "WITH target AS (SELECT revision FROM catalog.products WHERE id = $9), \
             changed AS (UPDATE catalog.products SET sku = $1, name = $2, description = $3, \
             category_id = $4, price_cents = $5, currency = $6, stock = coalesce($7::integer, stock), active = $8 \
             WHERE id = $9 AND ($10::int8 IS NULL OR revision = $10::int8) RETURNING *) \
             SELECT (SELECT revision FROM target) AS revision, \
               (SELECT to_jsonb(updated) FROM (SELECT {PRODUCT_COLUMNS} FROM changed p) AS updated) AS product"
        );
        let mut params = write.params();
        params.push(id.into());
        params.push(if_match.map_or(Value::Null, Value::from));
        let outcome: ChangeOutcome = self.db.query_one(&sql, &params).await.map_err(Error::from_write)?;
        Ok(outcome.into_change())
    }

    /// Adds `delta` units (negative: removes) to a product's stock, relative to whatever reservations left,
    /// unless the stock would go below zero.
    pub async fn adjust_stock(&self, id: uuid::Uuid, delta: i32) -> Result<ProductChange, Error> {
        let sql = format!(
            "WITH target AS (SELECT revision FROM catalog.products WHERE id = $1), \
             changed AS (UPDATE catalog.products SET stock = stock + $2::integer \
             WHERE id = $1 AND stock::int8 + $2::integer BETWEEN 0 AND 2147483647 RETURNING *) \
             SELECT (SELECT revision FROM target) AS revision, \
               (SELECT to_jsonb(updated) FROM (SELECT {PRODUCT_COLUMNS} FROM changed p) AS updated) AS product"
        );
        let outcome: ChangeOutcome = self.db.query_one(&sql, &[id.into(), delta.into()]).await?;
        Ok(outcome.into_change())
    }

    /// Deletes a product unless a reservation (and so an order) has it; whether it existed.
    pub async fn delete_product(&self, id: uuid::Uuid) -> Result<ProductDeletion, Error> {
        let sql = "WITH used AS (SELECT EXISTS (SELECT 1 FROM catalog.stock_reservations r \
                     WHERE r.lines @> jsonb_build_array(jsonb_build_object('product_id', $1::uuid))) AS used), \
                   changed AS (DELETE FROM catalog.products WHERE id = $1 AND NOT (SELECT used FROM used) \
                     RETURNING id) \
                   SELECT EXISTS (SELECT 1 FROM catalog.products WHERE id = $1) AS found, \
                     (SELECT used FROM used) AS used";
        #[derive(Deserialize)]
        struct Outcome {
            found: bool,
            used: bool,
        }
        let outcome: Outcome = self.db.query_one(sql, &[id.into()]).await.map_err(Error::from_product_delete)?;
        Ok(match (outcome.found, outcome.used) {
            (false, _) => ProductDeletion::NotFound,
            (true, true) => ProductDeletion::Ordered,
            (true, false) => ProductDeletion::Deleted,
        })
    }

    /// One category.
    pub async fn category(&self, id: uuid::Uuid) -> Result<Option<Category>, Error> {
        let sql = format!("SELECT {CATEGORY_COLUMNS} FROM catalog.categories c WHERE c.id = $1");
        Ok(self.db.query_opt(&sql, &[id.into()]).await?)
    }

    /// One page of categories in slug order after the slug `after`, and one more when a next page exists.
    pub async fn categories(&self, after: Option<&str>, limit: Limit) -> Result<Vec<Category>, Error> {
        let sql = format!(
            "SELECT {CATEGORY_COLUMNS} FROM catalog.categories c \
             WHERE $1::text IS NULL OR (c.slug COLLATE \"C\") > ($1::text COLLATE \"C\") \
             ORDER BY c.slug COLLATE \"C\" LIMIT $2"
        );
        Ok(self.db.query_all(&sql, &[after.map(str::to_owned).into(), limit.fetch().into()]).await?)
    }

    /// Creates a category.
    pub async fn create_category(&self, write: &CategoryWrite) -> Result<Category, Error> {
        let sql = format!(
            "WITH changed AS (INSERT INTO catalog.categories (name, slug, parent_id) VALUES ($1, $2, $3) \
             RETURNING *) SELECT {CATEGORY_COLUMNS} FROM changed c"
        );
        let params = [write.name.as_str().into(), write.slug.as_str().into(), write.parent_id.into()];
        self.db.query_one(&sql, &params).await.map_err(Error::from_write)
    }

    /// Replaces a category, refusing a parent that would make a cycle.
    pub async fn update_category(&self, id: uuid::Uuid, write: &CategoryWrite) -> Result<CategoryUpdate, Error> {
        // `subtree` is the category and its descendants: none of them may become its parent.
        let sql = format!(
            "WITH RECURSIVE subtree AS (SELECT id FROM catalog.categories WHERE id = $1 UNION \
             SELECT c.id FROM catalog.categories c JOIN subtree s ON c.parent_id = s.id), \
             changed AS (UPDATE catalog.categories SET name = $2, slug = $3, parent_id = $4, updated_at = now() \
             WHERE id = $1 AND ($4::uuid IS NULL OR $4::uuid NOT IN (SELECT id FROM subtree)) RETURNING *) \
             SELECT EXISTS (SELECT 1 FROM subtree) AS found, \
               (SELECT to_jsonb(updated) FROM (SELECT {CATEGORY_COLUMNS} FROM changed c) AS updated) AS category"
        );
        #[derive(Deserialize)]
        struct Outcome {
            found: bool,
            category: Option<Category>,
        }
        let params = [id.into(), write.name.as_str().into(), write.slug.as_str().into(), write.parent_id.into()];
        let outcome: Outcome = self.db.query_one(&sql, &params).await.map_err(Error::from_write)?;
        Ok(match (outcome.found, outcome.category) {
            (false, _) => CategoryUpdate::NotFound,
            (true, None) => CategoryUpdate::Cycle,
            (true, Some(category)) => CategoryUpdate::Updated(category),
        })
    }

    /// Deletes a category unless products or subcategories still use it.
    pub async fn delete_category(&self, id: uuid::Uuid) -> Result<CategoryDeletion, Error> {
        let sql = "WITH target AS (SELECT id FROM catalog.categories WHERE id = $1), \
             used AS (SELECT EXISTS (SELECT 1 FROM catalog.products WHERE category_id = $1) \
                          OR EXISTS (SELECT 1 FROM catalog.categories WHERE parent_id = $1) AS in_use), \
             changed AS (DELETE FROM catalog.categories WHERE id = $1 AND NOT (SELECT in_use FROM used) \
                         RETURNING id) \
             SELECT EXISTS (SELECT 1 FROM target) AS found, (SELECT in_use FROM used) AS in_use";
        #[derive(Deserialize)]
        struct Outcome {
            found: bool,
            in_use: bool,
        }
        let outcome: Outcome = self.db.query_one(sql, &[id.into()]).await.map_err(Error::from_category_delete)?;
        Ok(match (outcome.found, outcome.in_use) {
            (false, _) => CategoryDeletion::NotFound,
            (true, true) => CategoryDeletion::InUse,
            (true, false) => CategoryDeletion::Deleted,
        })
    }
}

/// Positional parameters of a statement built at run time; only placeholders are ever formatted into SQL.
#[derive(Debug, Default)]
struct Query {
    params: Vec<Value>,
}

impl Query {
    /// Adds a parameter and returns its placeholder (`$n`).
    fn bind(&mut self, value: Value) -> String {
        self.params.push(value);
        format!("${}", self.params.len())
    }
}
