//! The sales store against a real Postgres: an event counts once however often it is delivered, a
//! cancellation removes its order from every report, and buckets and rankings add up.

use analytics::store::{self, Line};
use testkit::TestDb;

fn line(product: &str, quantity: i32, unit_price_cents: i64) -> Line {
    Line { product_id: product.to_owned(), quantity, unit_price_cents }
}

#[tokio::test]
async fn a_redelivered_event_counts_once_and_a_cancellation_leaves_the_reports() {
    let test = TestDb::new("pc_analytics").await;
    let db = test.db();
    let (tea, cups) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
    let (first, second) = (uuid::Uuid::now_v7().to_string(), uuid::Uuid::now_v7().to_string());
    let lines = [line(&tea, 2, 450), line(&cups, 1, 1200)];
    let event = uuid::Uuid::now_v7().to_string();
    assert!(store::store_created(&db, &event, &first, "2026-03-01T10:00:00.000Z", "EUR", &lines).await.unwrap());
    assert!(!store::store_created(&db, &event, &first, "2026-03-01T10:00:00.000Z", "EUR", &lines).await.unwrap());
    let event = uuid::Uuid::now_v7().to_string();
    store::store_created(&db, &event, &second, "2026-03-02T23:59:59.999Z", "EUR", &[line(&tea, 5, 450)]).await.unwrap();

    let days = store::sales(&db, "day", "EUR", "2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z").await.unwrap();
    let totals: Vec<(&str, i64, i64, i64)> =
        days.iter().map(|day| (day.start.as_str(), day.orders, day.units, day.revenue_cents)).collect();
    assert_eq!(totals, [("2026-03-01", 1, 3, 2100), ("2026-03-02", 1, 5, 2250)]);
    let top = store::top_products(&db, "EUR", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z", false, 1).await.unwrap();
    assert_eq!((top[0].product_id.as_str(), top[0].units, top[0].orders), (tea.as_str(), 7, 2));
    assert!(store::sales(&db, "day", "CHF", "2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z").await.unwrap().is_empty());

    let cancel = uuid::Uuid::now_v7().to_string();
    assert!(store::store_cancelled(&db, &cancel, &second, "2026-03-03T08:00:00.000Z").await.unwrap());
    assert!(!store::store_cancelled(&db, &cancel, &second, "2026-03-03T08:00:00.000Z").await.unwrap());
    let month = store::sales(&db, "month", "EUR", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z").await.unwrap();
    assert_eq!((month.len(), month[0].orders, month[0].units), (1, 1, 3));
}
