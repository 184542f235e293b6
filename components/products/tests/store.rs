//! The catalog store against a real Postgres: the category tree's rules (no cycles, no deleting a category
//! in use), keyset pages, the listing's filters and order, stock that never goes below zero, and the catalog
//! version that moves only when what a listing shows changes.

use kit::page::Limit;
use products::domain::{Currency, Description, Money, Name, Sku, Slug, Stock};
use products::listing::{Filter, RawListQuery};
use products::store::{
    CategoryDeletion, CategoryUpdate, CategoryWrite, ProductChange, ProductDeletion, ProductWrite, Store,
};
use testkit::TestDb;

fn category(name: &str, parent_id: Option<uuid::Uuid>) -> CategoryWrite {
    let name = Name::parse(name, 100).unwrap();
    CategoryWrite { slug: Slug::from_name(&name).unwrap(), name, parent_id }
}

fn product(sku: &str, cents: i64, stock: i32, category_id: Option<uuid::Uuid>) -> ProductWrite {
    ProductWrite {
        sku: Sku::parse(sku).unwrap(),
        name: Name::parse(&format!("Product {sku}"), 200).unwrap(),
        description: Description::parse("").unwrap(),
        category_id,
        price: Money { cents, currency: Currency::parse("EUR").unwrap() },
        stock: Some(Stock::parse(stock.into()).unwrap()),
        active: true,
    }
}

fn filter(query: &str) -> Filter {
    Filter::parse(serde_urlencoded::from_str::<RawListQuery>(query).unwrap()).unwrap()
}

#[tokio::test]
async fn the_category_tree_refuses_cycles_and_keeps_categories_in_use() {
    let test = TestDb::new("pc_products").await;
    let store = Store::new(test.db());
    let home = store.create_category(&category("Home", None)).await.unwrap();
    let kitchen = store.create_category(&category("Kitchen", Some(home.id))).await.unwrap();
    assert!(matches!(
        store.update_category(home.id, &category("Home", Some(kitchen.id))).await.unwrap(),
        CategoryUpdate::Cycle
    ));
    assert!(matches!(
        store.update_category(uuid::Uuid::new_v4(), &category("X", None)).await.unwrap(),
        CategoryUpdate::NotFound
    ));
    assert_eq!(store.delete_category(home.id).await.unwrap(), CategoryDeletion::InUse);
    store.create_product(&product("CUP-1", 450, 1, Some(kitchen.id))).await.unwrap();
    assert_eq!(store.delete_category(kitchen.id).await.unwrap(), CategoryDeletion::InUse);

    // Slug order, one extra row when a next page exists.
    let limit = Limit::parse(Some(1)).unwrap();
    let first = store.categories(None, limit).await.unwrap();
    assert_eq!(first.iter().map(|c| c.slug.as_str()).collect::<Vec<_>>(), ["home", "kitchen"]);
    let rest = store.categories(Some("home"), limit).await.unwrap();
    assert_eq!(rest.iter().map(|c| c.slug.as_str()).collect::<Vec<_>>(), ["kitchen"]);
}

#[tokio::test]
async fn the_listing_filters_sorts_and_pages_and_the_version_moves_only_with_what_it_shows() {
    let test = TestDb::new("pc_products").await;
    let store = Store::new(test.db());
    let cheap = store.create_product(&product("TEA-1", 300, 5, None)).await.unwrap();
    let dear = store.create_product(&product("TEA-2", 900, 0, None)).await.unwrap();
    let mid = store.create_product(&product("TEA-3", 600, 2, None)).await.unwrap();
    let ids = |products: Vec<products::store::Product>| products.into_iter().map(|p| p.id).collect::<Vec<_>>();

    assert_eq!(ids(store.products(&filter("sort=price_asc")).await.unwrap()), [cheap.id, mid.id, dear.id]);
    assert_eq!(ids(store.products(&filter("sort=price_desc&in_stock=true")).await.unwrap()), [mid.id, cheap.id]);
    assert_eq!(ids(store.products(&filter("min_price=500&max_price=700")).await.unwrap()), [mid.id]);
    assert_eq!(ids(store.products(&filter("name=tea-2")).await.unwrap()), [dear.id]);
    // A page of one fetches two rows; the second page starts after the first's last item.
    let page = store.products(&filter("sort=price_asc&limit=1")).await.unwrap();
    assert_eq!(ids(page.clone()), [cheap.id, mid.id]);
    let after = kit::page::Cursor(page[0].cursor(products::listing::Sort::PriceAsc)).encode();
    let next = store.products(&filter(&format!("sort=price_asc&limit=1&cursor={after}"))).await.unwrap();
    assert_eq!(ids(next), [mid.id, dear.id]);

    let version = store.version().await.unwrap();
    let ProductChange::Changed(changed) = store.adjust_stock(cheap.id, -2).await.unwrap() else {
        panic!("stock 5 - 2")
    };
    assert_eq!(changed.stock, 3);
    assert_eq!(store.version().await.unwrap(), version, "a stock count change is not a listing change");
    assert!(matches!(store.adjust_stock(cheap.id, -4).await.unwrap(), ProductChange::Refused(_)), "3 - 4 < 0");
    store.adjust_stock(cheap.id, -3).await.unwrap();
    assert!(store.version().await.unwrap() > version, "selling out changes what in_stock listings show");

    assert_eq!(store.delete_product(dear.id).await.unwrap(), ProductDeletion::Deleted);
    assert_eq!(store.delete_product(dear.id).await.unwrap(), ProductDeletion::NotFound);
    assert_eq!(store.product(dear.id, true).await.unwrap().map(|p| p.id), None);
}
