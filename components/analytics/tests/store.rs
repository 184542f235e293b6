//! The sales store against a real Postgres: an event counts once however often it is delivered, a
//! cancellation removes its order from every report, and buckets and rankings add up.

use analytics::store::{self, CancelledEvent, CreatedEvent, Line};
use testkit::TestDb;

fn line(product: &str, quantity: i32, unit_price_cents: i64) -> Line {
    Line { product_id: product.to_owned(), quantity, unit_price_cents }
}

fn created(order_id: &str, created_at: &str, lines: Vec<Line>) -> CreatedEvent {
    CreatedEvent {
        event_id: uuid::Uuid::now_v7().to_string(),
        order_id: order_id.to_owned(),
        created_at: created_at.to_owned(),
        currency: "EUR".to_owned(),
        lines,
    }
}

#[tokio::test]
async fn a_redelivered_event_counts_once_and_a_cancellation_leaves_the_reports() {
    let test = TestDb::new("pc_analytics").await;
    let db = test.db();
    let (tea, cups) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
    let (first, second) = (uuid::Uuid::now_v7().to_string(), uuid::Uuid::now_v7().to_string());
    let one = created(&first, "2026-03-01T10:00:00.000Z", vec![line(&tea, 2, 450), line(&cups, 1, 1200)]);
    assert_eq!(store::store_created(&db, std::slice::from_ref(&one)).await.unwrap(), vec![one.event_id.clone()]);
    // The redelivery stores nothing; the new event beside it in the same batch is stored.
    let two = created(&second, "2026-03-02T23:59:59.999Z", vec![line(&tea, 5, 450)]);
    assert_eq!(store::store_created(&db, &[one, two.clone()]).await.unwrap(), [two.event_id]);
    assert!(store::store_created(&db, &[]).await.unwrap().is_empty());

    let days = store::sales(&db, "day", "EUR", "2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z").await.unwrap();
    let totals: Vec<(&str, i64, i64, i64)> =
        days.iter().map(|day| (day.start.as_str(), day.orders, day.units, day.revenue_cents)).collect();
    assert_eq!(totals, [("2026-03-01", 1, 3, 2100), ("2026-03-02", 1, 5, 2250)]);
    let top = store::top_products(&db, "EUR", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z", false, 1).await.unwrap();
    assert_eq!((top[0].product_id.as_str(), top[0].units, top[0].orders), (tea.as_str(), 7, 2));
    assert!(store::sales(&db, "day", "CHF", "2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z").await.unwrap().is_empty());

    let cancel = CancelledEvent {
        event_id: uuid::Uuid::now_v7().to_string(),
        order_id: second.clone(),
        cancelled_at: "2026-03-03T08:00:00.000Z".to_owned(),
    };
    assert_eq!(
        store::store_cancelled(&db, std::slice::from_ref(&cancel)).await.unwrap(),
        vec![cancel.event_id.clone()]
    );
    // A second cancellation of the same order (another event id) is kept as an event, and the order stays
    // cancelled once.
    let again = CancelledEvent { event_id: uuid::Uuid::now_v7().to_string(), ..cancel.clone() };
    assert_eq!(store::store_cancelled(&db, &[cancel, again.clone()]).await.unwrap(), [again.event_id]);
    let month = store::sales(&db, "month", "EUR", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z").await.unwrap();
    assert_eq!((month.len(), month[0].orders, month[0].units), (1, 1, 3));
}
