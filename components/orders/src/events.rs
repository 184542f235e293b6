//! The events an order emits, as CloudEvents 1.0 JSON envelopes written to the outbox (the bridge relays
//! them to Kafka topic `order.created`, key = order id). The schema is versioned by `type`; `time` and
//! `data.created_at` / `data.cancelled_at` are filled in by the statement that writes the order, from the
//! database clock, so they equal the stored timestamps.

use kit::bridge::ReservedLine;
use serde_json::{json, Value};

/// `type` of the order-created event.
pub const ORDER_CREATED: &str = "com.pycommerce.order.created.v1";
/// `type` of the order-cancelled event.
pub const ORDER_CANCELLED: &str = "com.pycommerce.order.cancelled.v1";
/// `source` of every order event.
pub const SOURCE: &str = "/pycommerce/orders";

/// The envelope of an event about `order_id`.
fn envelope(event_id: &str, kind: &str, order_id: &str, data: Value) -> Value {
    json!({
        "specversion": "1.0",
        "id": event_id,
        "source": SOURCE,
        "type": kind,
        "subject": order_id,
        "time": null,
        "datacontenttype": "application/json",
        "data": data,
    })
}

fn items(lines: &[ReservedLine]) -> Value {
    lines
        .iter()
        .map(|line| json!({ "product_id": line.product_id, "quantity": line.quantity, "unit_price_cents": line.unit_price_cents }))
        .collect()
}

/// `order.created`: the order, its lines and total.
pub fn order_created(
    event_id: &str,
    order_id: &str,
    user_id: &str,
    lines: &[ReservedLine],
    total_cents: i64,
    currency: &str,
) -> Value {
    let data = json!({
        "order_id": order_id,
        "user_id": user_id,
        "items": items(lines),
        "total_cents": total_cents,
        "currency": currency,
        "created_at": null,
    });
    envelope(event_id, ORDER_CREATED, order_id, data)
}

/// `order.cancelled`: which order, whose, and the lines whose units went back to stock.
pub fn order_cancelled(event_id: &str, order_id: &str, user_id: &str, lines: &[ReservedLine]) -> Value {
    let data = json!({ "order_id": order_id, "user_id": user_id, "items": items(lines), "cancelled_at": null });
    envelope(event_id, ORDER_CANCELLED, order_id, data)
}
