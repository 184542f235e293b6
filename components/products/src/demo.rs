//! The demo catalog for local runs (`bridge seed-demo`): a small category tree and 200 products, in two
//! statements. Idempotent: categories are matched by slug and products by SKU (`DEMO-0001` ...), so a second
//! run inserts nothing and leaves changes made through the API alone (and an interrupted run is completed by
//! the next). What it inserts moves the catalog version (the catalog's triggers), so no cached listing of the
//! old catalog is served afterwards.

use kit::db::{Db, DbError, Value};
use serde::{Deserialize, Serialize};

/// Top-level categories: (name, slug).
const ROOTS: &[(&str, &str)] = &[
    ("Electronics", "electronics"),
    ("Home & Kitchen", "home-kitchen"),
    ("Books", "books"),
    ("Sports & Outdoors", "sports-outdoors"),
    ("Clothing", "clothing"),
];

/// Subcategories: (name, slug, parent slug).
const CHILDREN: &[(&str, &str, &str)] = &[
    ("Audio", "audio", "electronics"),
    ("Computers", "computers", "electronics"),
    ("Kitchen", "kitchen", "home-kitchen"),
    ("Furniture", "furniture", "home-kitchen"),
];

/// Where products go (leaf categories) and what they are called there.
const LEAVES: &[(&str, [&str; 5])] = &[
    ("audio", ["Headphones", "Speaker", "Turntable", "Microphone", "Soundbar"]),
    ("computers", ["Laptop", "Keyboard", "Monitor", "Mouse", "Webcam"]),
    ("kitchen", ["Kettle", "Teapot", "Chef's Knife", "Frying Pan", "Coffee Grinder"]),
    ("furniture", ["Armchair", "Bookshelf", "Desk", "Floor Lamp", "Side Table"]),
    ("books", ["Cookbook", "Novel", "Atlas", "Poetry Collection", "Field Guide"]),
    ("sports-outdoors", ["Tent", "Yoga Mat", "Backpack", "Water Bottle", "Running Shoes"]),
    ("clothing", ["T-Shirt", "Raincoat", "Wool Sweater", "Scarf", "Jeans"]),
];

const ADJECTIVES: &[&str] = &["Classic", "Deluxe", "Compact", "Eco", "Pro", "Vintage", "Smart", "Café"];

/// How many demo products there are.
pub const DEMO_PRODUCTS: usize = 200;

/// What a seeding run inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    /// Categories inserted now.
    pub categories: u64,
    /// Products inserted now.
    pub products: u64,
}

/// One demo product row.
#[derive(Serialize)]
struct DemoProduct {
    sku: String,
    name: String,
    description: String,
    category_slug: &'static str,
    price_cents: i64,
    stock: i32,
    active: bool,
}

/// The demo products: deterministic, so every run describes the same catalog.
fn demo_products() -> Vec<DemoProduct> {
    (0..DEMO_PRODUCTS)
        .map(|i| {
            let (slug, nouns) = LEAVES[i % LEAVES.len()];
            let noun = nouns[(i / LEAVES.len()) % nouns.len()];
            let adjective = ADJECTIVES[(i / (LEAVES.len() * nouns.len())) % ADJECTIVES.len()];
            let n = i as i64;
            DemoProduct {
                sku: format!("DEMO-{:04}", i + 1),
                name: format!("{adjective} {noun}"),
                description: format!("A {} {} from the demo catalog.", adjective.to_lowercase(), noun.to_lowercase()),
                category_slug: slug,
                price_cents: 499 + (n * 7919) % 25_000,
                stock: ((n * 31) % 50) as i32,
                active: i % 25 != 24,
            }
        })
        .collect()
}

/// Writes the demo catalog.
pub async fn load(db: &Db) -> Result<Seeded, DbError> {
    let roots: Vec<serde_json::Value> =
        ROOTS.iter().map(|(name, slug)| serde_json::json!({ "name": name, "slug": slug })).collect();
    let children: Vec<serde_json::Value> = CHILDREN
        .iter()
        .map(|(name, slug, parent)| serde_json::json!({ "name": name, "slug": slug, "parent": parent }))
        .collect();
    #[derive(Deserialize)]
    struct Inserted {
        count: i64,
    }
    // A child's parent is either inserted by this statement (`roots`) or was there before (the table, as
    // the statement's snapshot sees it): never both.
    let categories: Inserted = db
        .query_one(
            "WITH roots AS (INSERT INTO catalog.categories (name, slug) \
               SELECT r.name, r.slug FROM jsonb_to_recordset($1::jsonb) AS r(name text, slug text) \
               ON CONFLICT DO NOTHING RETURNING id, slug), \
             children AS (INSERT INTO catalog.categories (name, slug, parent_id) \
               SELECT c.name, c.slug, p.id FROM jsonb_to_recordset($2::jsonb) AS c(name text, slug text, parent text) \
               JOIN (SELECT id, slug FROM roots UNION ALL SELECT id, slug FROM catalog.categories) p \
                 ON p.slug = c.parent \
               ON CONFLICT DO NOTHING RETURNING id) \
             SELECT ((SELECT count(*) FROM roots) + (SELECT count(*) FROM children))::int8 AS count",
            &[Value::Jsonb(to_json(&roots)?), Value::Jsonb(to_json(&children)?)],
        )
        .await?;
    let products: Inserted = db
        .query_one(
            "WITH inserted AS (INSERT INTO catalog.products \
               (sku, name, description, category_id, price_cents, currency, stock, active) \
               SELECT d.sku, d.name, d.description, c.id, d.price_cents, 'EUR', d.stock, d.active \
               FROM jsonb_to_recordset($1::jsonb) AS d(sku text, name text, description text, \
                    category_slug text, price_cents int8, stock int4, active bool) \
               JOIN catalog.categories c ON c.slug = d.category_slug \
               ON CONFLICT DO NOTHING RETURNING id) \
             SELECT count(*)::int8 AS count FROM inserted",
            &[Value::Jsonb(to_json(&demo_products())?)],
        )
        .await?;
    Ok(Seeded {
        categories: u64::try_from(categories.count).unwrap_or_default(),
        products: u64::try_from(products.count).unwrap_or_default(),
    })
}

fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value, DbError> {
    serde_json::to_value(value).map_err(|error| DbError::Conversion(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_products_have_unique_skus_and_names_and_valid_values() {
        let rows = demo_products();
        let skus: std::collections::HashSet<_> = rows.iter().map(|row| row.sku.clone()).collect();
        let names: std::collections::HashSet<_> = rows.iter().map(|row| row.name.clone()).collect();
        assert_eq!(skus.len(), DEMO_PRODUCTS);
        assert!(names.len() > 100, "names should vary: {}", names.len());
        assert!(rows.iter().all(|row| row.price_cents > 0 && row.stock >= 0));
        assert!(rows.iter().any(|row| row.stock == 0) && rows.iter().any(|row| !row.active));
    }
}
