//! The demo catalog for local runs: a small category tree and 200 products, written with SQL in one
//! transaction. Idempotent: categories are matched by slug and products by SKU (`DEMO-0001` ...), so a second
//! run inserts nothing and leaves changes made through the API alone. What it inserts moves the catalog version
//! (the catalog's triggers), so no cached listing of the old catalog is served afterwards.

use tokio_postgres::NoTls;

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

/// Writes the demo catalog into the database at `url`.
pub async fn demo_catalog(url: &str) -> Result<Seeded, tokio_postgres::Error> {
    let (mut client, connection) = tokio_postgres::connect(url, NoTls).await?;
    let connection = tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::error!(%error, "seed connection failed");
        }
    });
    let transaction = client.transaction().await?;
    let mut categories = 0;
    for (name, slug) in ROOTS {
        categories += transaction
            .execute(
                "INSERT INTO catalog.categories (name, slug) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[name, slug],
            )
            .await?;
    }
    for (name, slug, parent) in CHILDREN {
        categories += transaction
            .execute(
                "INSERT INTO catalog.categories (name, slug, parent_id) \
                 SELECT $1, $2, id FROM catalog.categories WHERE slug = $3 ON CONFLICT DO NOTHING",
                &[name, slug, parent],
            )
            .await?;
    }
    let rows = demo_products();
    let skus: Vec<&str> = rows.iter().map(|row| row.sku.as_str()).collect();
    let names: Vec<&str> = rows.iter().map(|row| row.name.as_str()).collect();
    let descriptions: Vec<&str> = rows.iter().map(|row| row.description.as_str()).collect();
    let slugs: Vec<&str> = rows.iter().map(|row| row.category_slug).collect();
    let prices: Vec<i64> = rows.iter().map(|row| row.price_cents).collect();
    let stocks: Vec<i32> = rows.iter().map(|row| row.stock).collect();
    let actives: Vec<bool> = rows.iter().map(|row| row.active).collect();
    let products = transaction
        .execute(
            "INSERT INTO catalog.products (sku, name, description, category_id, price_cents, currency, stock, active) \
             SELECT d.sku, d.name, d.description, c.id, d.price, 'EUR', d.stock, d.active \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::int4[], $7::bool[]) \
                  AS d(sku, name, description, slug, price, stock, active) \
             JOIN catalog.categories c ON c.slug = d.slug \
             ON CONFLICT DO NOTHING",
            &[&skus, &names, &descriptions, &slugs, &prices, &stocks, &actives],
        )
        .await?;
    transaction.commit().await?;
    drop(client);
    let _ = connection.await;
    Ok(Seeded { categories, products })
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
