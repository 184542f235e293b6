//! Analytics through the gateway: the service-only ingest (idempotent by event id), sales buckets across
//! day, ISO-week and month boundaries, cancellations, parameter validation, orders flowing from the gateway
//! through the outbox, Kafka and the bridge's consumer into the reports, the dead-letter topic, and the
//! dashboard drawn in a real headless Chromium.

use std::time::Duration;

use e2e::{assert_problem, spawn_app, spawn_app_with_events, App};
use kit::identity::Role;
use reqwest::Method;
use serde_json::{json, Value};

use crate::orders::{customer, place, product, product_in};

fn created_event(order_id: &str, at: &str, lines: &[(&str, i64, i64)]) -> Value {
    let items: Vec<Value> = lines
        .iter()
        .map(|(product_id, quantity, price)| json!({ "product_id": product_id, "quantity": quantity, "unit_price_cents": price }))
        .collect();
    let total: i64 =
        lines.iter().map(|(_, quantity, price)| quantity.saturating_mul(*price)).fold(0i64, i64::saturating_add);
    json!({
        "specversion": "1.0", "id": uuid::Uuid::now_v7().to_string(), "source": "/pycommerce/orders",
        "type": "com.pycommerce.order.created.v1", "subject": order_id, "time": at,
        "datacontenttype": "application/json",
        "data": { "order_id": order_id, "user_id": uuid::Uuid::new_v4().to_string(), "items": items,
                  "total_cents": total, "currency": "EUR", "created_at": at }
    })
}

fn cancelled_event(order_id: &str, at: &str) -> Value {
    json!({
        "specversion": "1.0", "id": uuid::Uuid::now_v7().to_string(), "source": "/pycommerce/orders",
        "type": "com.pycommerce.order.cancelled.v1", "subject": order_id, "time": at,
        "datacontenttype": "application/json",
        "data": { "order_id": order_id, "user_id": uuid::Uuid::new_v4().to_string(), "items": [], "cancelled_at": at }
    })
}

async fn ingest(app: &App, token: &str, event: &Value) -> reqwest::Response {
    app.request(Method::POST, "/analytics/events").bearer_auth(token).json(event).send().await.unwrap()
}

async fn report(app: &App, path: &str) -> Value {
    let response = app.request(Method::GET, path).bearer_auth(app.token(Role::Admin)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

/// `(start, orders, units, revenue)` of each bucket.
fn buckets(report: &Value) -> Vec<(String, i64, i64, i64)> {
    report["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bucket| {
            let number = |name: &str| bucket[name].as_i64().unwrap();
            (bucket["start"].as_str().unwrap().to_owned(), number("orders"), number("units"), number("revenue_cents"))
        })
        .collect()
}

fn b(start: &str, orders: i64, units: i64, revenue: i64) -> (String, i64, i64, i64) {
    (start.to_owned(), orders, units, revenue)
}

/// Polls `path` (a sales report) every 200 ms until its buckets are `expected`; panics with the last
/// answer after `attempts` polls.
async fn wait_for_buckets(app: &App, path: &str, expected: &[(String, i64, i64, i64)], attempts: usize, what: &str) {
    let mut last = Vec::new();
    for _ in 0..attempts {
        last = buckets(&report(app, path).await);
        if last == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what}: the reports never showed it: {last:?}");
}

/// Asserts `value` (a record read from Kafka) conforms to the JSON Schema `schema` (file text).
fn assert_matches_schema(schema: &str, value: &str) {
    let schema: Value = serde_json::from_str(schema).unwrap();
    let event: Value = serde_json::from_str(value).unwrap();
    let departures = e2e::openapi::violations(&schema, &schema, &event);
    assert!(departures.is_empty(), "the event departs from its JSON Schema: {departures:?}\n{event}");
}

/// Asserts the records' keys are exactly `order_ids`, in any order, each once.
fn assert_keys_are(records: &[testkit::Record], order_ids: &[String]) {
    let mut keys: Vec<&str> = records.iter().map(|record| record.key.as_str()).collect();
    keys.sort_unstable();
    let mut expected: Vec<&str> = order_ids.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(keys, expected, "every event once");
}

fn today() -> String {
    let now = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", now.year(), u8::from(now.month()), now.day())
}

/// Polls `path` (a top-products report) every 200 ms until `product_id` shows `(units, revenue, orders)`;
/// panics with the last answer after `attempts` polls.
async fn wait_for_product(app: &App, path: &str, product_id: &str, expected: (i64, i64, i64), attempts: usize) {
    let mut last = Value::Null;
    for _ in 0..attempts {
        last = report(app, path).await;
        let found = last["products"].as_array().into_iter().flatten().find(|p| p["product_id"] == product_id);
        let figures = found.map(|p| (p["units"].as_i64(), p["revenue_cents"].as_i64(), p["orders"].as_i64()));
        if figures == Some((Some(expected.0), Some(expected.1), Some(expected.2))) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("product {product_id} never reached {expected:?} in the reports: {last}");
}

#[tokio::test]
async fn only_a_service_may_ingest_events() {
    let app = spawn_app().await;
    let event = created_event(
        &uuid::Uuid::new_v4().to_string(),
        "2026-03-01T10:00:00Z",
        &[(&uuid::Uuid::new_v4().to_string(), 2, 150)],
    );
    let anonymous = app.request(Method::POST, "/analytics/events").json(&event).send().await.unwrap();
    assert_problem(anonymous, 401).await;
    assert_problem(ingest(&app, &app.token(Role::Customer), &event).await, 403).await;
    assert_problem(ingest(&app, &app.token(Role::Admin), &event).await, 403).await;
    // A user key cannot vouch for a service, even with the role claim set.
    assert_problem(ingest(&app, &app.token(Role::Service), &event).await, 401).await;
}

#[tokio::test]
async fn reports_are_for_admins_and_refuse_bad_ranges_and_periods() {
    let app = spawn_app().await;
    let anonymous = app.get("/analytics/sales").await;
    assert_problem(anonymous, 401).await;
    let customer = app.request(Method::GET, "/analytics/sales").bearer_auth(app.token(Role::Customer)).send().await;
    assert_problem(customer.unwrap(), 403).await;

    let admin = app.token(Role::Admin);
    for path in [
        "/analytics/sales?period=year",
        "/analytics/sales?from=2026-02-30",
        "/analytics/sales?from=2026-03-02&to=2026-03-01",
        "/analytics/sales?from=yesterday",
        "/analytics/sales?period=day&from=2020-01-01&to=2026-01-01",
        "/analytics/sales?currency=euro",
        "/analytics/sales?unknown=1",
        "/analytics/top-products?limit=0",
        "/analytics/top-products?limit=101",
        "/analytics/top-products?by=price",
        // Postgres has no year 0, and a range's end must stay a four-digit year.
        "/analytics/top-products?from=0000-12-31",
        "/analytics/sales?to=9999-12-31",
    ] {
        let response = app.request(Method::GET, path).bearer_auth(&admin).send().await.unwrap();
        assert_problem(response, 400).await;
    }
    // The default 30 days stop at the first day there is.
    let first_day = report(&app, "/analytics/top-products?to=0001-01-01").await;
    assert_eq!(
        (first_day["from"].as_str(), first_day["products"].as_array().map(Vec::len)),
        (Some("0001-01-01"), Some(0))
    );
    let last_day = report(&app, "/analytics/sales?from=9999-12-30&to=9999-12-30").await;
    assert_eq!(buckets(&last_day), vec![b("9999-12-30", 0, 0, 0)]);
    let last_months = report(&app, "/analytics/sales?period=month&from=9999-11-15&to=9999-12-30").await;
    assert_eq!(buckets(&last_months), vec![b("9999-11-01", 0, 0, 0), b("9999-12-01", 0, 0, 0)]);
    // Defaults: the 30 days up to today, by day.
    let defaults = report(&app, "/analytics/sales").await;
    assert_eq!(defaults["buckets"].as_array().unwrap().len(), 30);
    assert_eq!(defaults["to"], today());
}

/// Places orders of 1, 2 and 3 units of `product` as `token`'s customer and cancels the first; their ids.
async fn three_orders_the_first_cancelled(app: &App, token: &str, product: &str) -> Vec<String> {
    let mut order_ids = Vec::new();
    for quantity in [1, 2, 3] {
        let body = json!({ "items": [{ "product_id": product, "quantity": quantity }] });
        let response = place(app, token, &body, None).await;
        assert_eq!(response.status(), 201);
        order_ids.push(response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    let cancel =
        app.request(Method::POST, &format!("/orders/{}/cancel", order_ids[0])).bearer_auth(token).send().await.unwrap();
    assert_eq!(cancel.status(), 200);
    order_ids
}

#[tokio::test]
async fn orders_placed_through_the_gateway_reach_the_reports_once_without_the_cancelled_one() {
    // Through the system's outbox relay, Kafka and the analytics consumer. A product of its own, priced in a
    // currency no other test uses, keeps other orders out of its figures on a shared system.
    let app = spawn_app_with_events().await;
    let cups = product_in(&app, "CHF", 1250, 50).await;
    let token = customer(&app).await;
    three_orders_the_first_cancelled(&app, &token, &cups).await;

    // Within a bounded time the reports show the two orders that stand (2 + 3 cups).
    let path = format!("/analytics/top-products?from={0}&to={0}&currency=CHF&limit=100", today());
    wait_for_product(&app, &path, &cups, (5, 6250, 2), 150).await;
    if app.is_local() {
        // Only on a system this test started are they the day's only CHF sales.
        let path = format!("/analytics/sales?period=day&from={0}&to={0}&currency=CHF", today());
        assert_eq!(buckets(&report(&app, &path).await), vec![b(&today(), 2, 5, 6250)]);
    }
}

/// Need a system of their own: its service key, reports only they write, Kafka topics of their own or a broker.
mod local {
    use super::*;
    use e2e::{spawn_local_app_with, spawn_local_app_with_events_on, test_kafka_brokers};

    #[tokio::test]
    async fn a_service_event_is_stored_once_and_malformed_ones_are_refused() {
        let app = spawn_local_app_with(&[]).await;
        let service = app.service_token();
        let event = created_event(
            &uuid::Uuid::new_v4().to_string(),
            "2026-03-01T10:00:00Z",
            &[(&uuid::Uuid::new_v4().to_string(), 2, 150)],
        );

        let first = ingest(&app, &service, &event).await;
        assert_eq!(first.status(), 201);
        let again = ingest(&app, &service, &event).await;
        assert_eq!(again.status(), 200, "a redelivery is acknowledged");
        assert_eq!(again.json::<Value>().await.unwrap()["stored"], false);
        let sales = report(&app, "/analytics/sales?period=day&from=2026-03-01&to=2026-03-01").await;
        assert_eq!(buckets(&sales), vec![b("2026-03-01", 1, 2, 300)], "counted once");

        let mut wrong_type = event.clone();
        wrong_type["type"] = json!("com.pycommerce.order.shipped.v1");
        assert_problem(ingest(&app, &service, &wrong_type).await, 422).await;
        let mut bad_line = created_event(&uuid::Uuid::new_v4().to_string(), "2026-03-01T10:00:00Z", &[("p", 1, 1)]);
        assert_problem(ingest(&app, &service, &bad_line).await, 422).await;
        bad_line =
            created_event(&uuid::Uuid::new_v4().to_string(), "yesterday", &[(&uuid::Uuid::new_v4().to_string(), 1, 1)]);
        assert_problem(ingest(&app, &service, &bad_line).await, 422).await;
        // Valid RFC 3339 that Postgres cannot store: year 0, and an offset carrying year 9999 into 10000.
        for at in ["0000-06-01T00:00:00Z", "0001-01-01T00:30:00+01:00", "9999-12-31T23:00:00-05:00"] {
            let out_of_range =
                created_event(&uuid::Uuid::new_v4().to_string(), at, &[(&uuid::Uuid::new_v4().to_string(), 1, 1)]);
            assert_problem(ingest(&app, &service, &out_of_range).await, 422).await;
        }
        let overflowing = created_event(
            &uuid::Uuid::new_v4().to_string(),
            "2026-03-01T10:00:00Z",
            &[(&uuid::Uuid::new_v4().to_string(), 2, i64::MAX / 2 + 1)],
        );
        assert_problem(ingest(&app, &service, &overflowing).await, 422).await;
        let not_json = app
            .request(Method::POST, "/analytics/events")
            .bearer_auth(&service)
            .header("content-type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap();
        assert_problem(not_json, 400).await;
    }

    #[tokio::test]
    async fn a_batch_stores_each_event_once_and_refuses_only_the_malformed_ones() {
        let app = spawn_local_app_with(&[]).await;
        let service = app.service_token();
        let batch = |events: Value, token: &str| {
            app.request(Method::POST, "/analytics/events/batch").bearer_auth(token).json(&events).send()
        };
        let (kept, cancelled) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
        let product = uuid::Uuid::new_v4().to_string();
        let first = created_event(&kept, "2026-04-01T10:00:00Z", &[(&product, 2, 150)]);
        let mut unknown = first.clone();
        unknown["type"] = json!("com.pycommerce.order.shipped.v1");
        let unknown_id = uuid::Uuid::now_v7().to_string();
        unknown["id"] = json!(unknown_id);
        let events = json!({ "events": [
            first.clone(),
            first.clone(), // repeated in the same batch
            unknown,
            { "specversion": "1.0" },
            created_event(&cancelled, "2026-04-01T11:00:00Z", &[(&product, 5, 150)]),
            cancelled_event(&cancelled, "2026-04-01T12:00:00Z"),
        ]});
        let response = batch(events, &service).await.unwrap();
        assert_eq!(response.status(), 200);
        let results: Value = response.json().await.unwrap();
        let outcomes: Vec<&str> =
            results["results"].as_array().unwrap().iter().map(|result| result["outcome"].as_str().unwrap()).collect();
        assert_eq!(outcomes, ["stored", "duplicate", "refused", "refused", "stored", "stored"]);
        assert_eq!(results["results"][0]["event_id"], first["id"]);
        assert_eq!(results["results"][2]["error"], "type: is not an event this service stores");
        assert_eq!(results["results"][2]["event_id"], unknown_id);
        assert!(results["results"][3]["event_id"].is_null());

        // Redelivered, the same events change nothing; the cancelled order stays out of the reports.
        let again = batch(json!({ "events": [first] }), &service).await.unwrap();
        assert_eq!(again.json::<Value>().await.unwrap()["results"][0]["outcome"], "duplicate");
        let sales = report(&app, "/analytics/sales?period=day&from=2026-04-01&to=2026-04-01").await;
        assert_eq!(buckets(&sales), vec![b("2026-04-01", 1, 2, 300)]);

        assert_problem(batch(json!({ "events": [] }), &service).await.unwrap(), 422).await;
        let too_many: Vec<Value> = (0..101).map(|_| cancelled_event(&kept, "2026-04-02T00:00:00Z")).collect();
        assert_problem(batch(json!({ "events": too_many }), &service).await.unwrap(), 422).await;
        assert_problem(batch(json!([]), &service).await.unwrap(), 422).await;
        assert_problem(batch(json!({ "events": [] }), &app.token(Role::Customer)).await.unwrap(), 403).await;
    }

    #[tokio::test]
    async fn sales_are_bucketed_by_utc_day_iso_week_and_month_without_cancelled_orders() {
        let app = spawn_local_app_with(&[]).await;
        let service = app.service_token();
        let (mugs, teapots) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
        let order = || uuid::Uuid::new_v4().to_string();
        // 2026-01-31 is a Saturday, 2026-02-01 a Sunday (same ISO week), 2026-02-02 a Monday.
        let saturday_night = created_event(&order(), "2026-01-31T23:59:59.999Z", &[(&mugs, 2, 100)]);
        let events = [
            saturday_night.clone(),
            created_event(&order(), "2026-02-01T00:00:00Z", &[(&teapots, 1, 600)]),
            // The offset is honoured: 01:30+02:00 is still Sunday 23:30 UTC.
            created_event(&order(), "2026-02-02T01:30:00+02:00", &[(&mugs, 1, 100)]),
            created_event(&order(), "2026-02-02T00:00:00Z", &[(&mugs, 2, 100)]),
            saturday_night, // replayed: counts once
        ];
        for event in &events {
            assert!(ingest(&app, &service, event).await.status().is_success());
        }
        let cancelled = order();
        ingest(&app, &service, &cancelled_event(&cancelled, "2026-02-01T13:00:00Z")).await; // before its creation
        ingest(&app, &service, &created_event(&cancelled, "2026-02-01T12:00:00Z", &[(&teapots, 10, 600)])).await;

        let days = report(&app, "/analytics/sales?period=day&from=2026-01-30&to=2026-02-03").await;
        assert_eq!(days["time_zone"], "UTC");
        assert_eq!(
            buckets(&days),
            vec![
                b("2026-01-30", 0, 0, 0),
                b("2026-01-31", 1, 2, 200),
                b("2026-02-01", 2, 2, 700),
                b("2026-02-02", 1, 2, 200),
                b("2026-02-03", 0, 0, 0),
            ]
        );
        let weeks = report(&app, "/analytics/sales?period=week&from=2026-01-30&to=2026-02-03").await;
        assert_eq!(buckets(&weeks), vec![b("2026-01-26", 3, 4, 900), b("2026-02-02", 1, 2, 200)]);
        let months = report(&app, "/analytics/sales?period=month&from=2026-01-01&to=2026-03-31").await;
        assert_eq!(
            buckets(&months),
            vec![b("2026-01-01", 1, 2, 200), b("2026-02-01", 3, 4, 900), b("2026-03-01", 0, 0, 0)]
        );

        let by_units = report(&app, "/analytics/top-products?from=2026-01-01&to=2026-03-31").await;
        let ranked: Vec<(&str, i64, i64)> = by_units["products"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (p["product_id"].as_str().unwrap(), p["units"].as_i64().unwrap(), p["revenue_cents"].as_i64().unwrap())
            })
            .collect();
        assert_eq!(ranked, vec![(mugs.as_str(), 5, 500), (teapots.as_str(), 1, 600)]);
        let by_revenue = report(&app, "/analytics/top-products?from=2026-01-01&to=2026-03-31&by=revenue&limit=1").await;
        assert_eq!(by_revenue["products"].as_array().unwrap().len(), 1);
        assert_eq!(by_revenue["products"][0]["product_id"], teapots.as_str());
    }

    #[tokio::test]
    async fn order_events_reach_kafka_once_keyed_by_order_id_as_documented() {
        // The relay only: the consumer's side is `orders_placed_through_the_gateway_reach_the_reports_once_…`.
        let app = spawn_local_app_with_events_on(&test_kafka_brokers()).await;
        let prefix = app.topic_prefix().to_owned();
        let cups = product(&app, 1250, 50).await;
        let token = customer(&app).await;
        let order_ids = three_orders_the_first_cancelled(&app, &token, &cups).await;

        // The consumer side sees exactly the events of these orders, each once, keyed by order id.
        let topic = format!("{prefix}order.created");
        let records = tokio::task::spawn_blocking(move || {
            testkit::read(&test_kafka_brokers(), &topic, 2, 3, Duration::from_millis(500))
        })
        .await
        .unwrap();
        assert_keys_are(&records, &order_ids);
        for record in &records {
            assert_matches_schema(
                include_str!("../../../../docs/schemas/com.pycommerce.order.created.v1.json"),
                &record.value,
            );
            let event: Value = serde_json::from_str(&record.value).unwrap();
            assert_eq!(event["type"], "com.pycommerce.order.created.v1");
            assert_eq!(event["data"]["order_id"], record.key.as_str());
            assert_eq!(record.header("ce_id"), event["id"].as_str());
        }

        let topic = format!("{prefix}order.cancelled");
        let cancelled = tokio::task::spawn_blocking(move || {
            testkit::read(&test_kafka_brokers(), &topic, 2, 1, Duration::from_millis(300))
        })
        .await
        .unwrap();
        assert_eq!(cancelled.len(), 1);
        assert_eq!(cancelled[0].key, order_ids[0]);
        assert_matches_schema(
            include_str!("../../../../docs/schemas/com.pycommerce.order.cancelled.v1.json"),
            &cancelled[0].value,
        );
    }

    #[tokio::test]
    async fn orders_placed_while_the_broker_is_down_succeed_and_reach_the_reports_once_after() {
        let mut broker = testkit::Broker::start().await;
        let mut app = spawn_local_app_with_events_on(&broker.addr()).await;
        let prefix = app.topic_prefix().to_owned();
        let cups = product(&app, 1000, 50).await;
        let token = customer(&app).await;

        broker.stop().await;
        let mut order_ids = Vec::new();
        for _ in 0..5 {
            let body = json!({ "items": [{ "product_id": cups, "quantity": 1 }] });
            let response = place(&app, &token, &body, None).await;
            assert_eq!(response.status(), 201, "orders do not wait for Kafka");
            order_ids.push(response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
        }
        let (client, connection) = tokio_postgres::connect(app.database_url(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        let pending: i64 = client
            .query_one("SELECT count(*) FROM orders.outbox WHERE published_at IS NULL", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(pending, 5, "the events wait in the outbox");

        broker.resume().await;
        let mut left = pending;
        for _ in 0..300 {
            left = client
                .query_one("SELECT count(*) FROM orders.outbox WHERE published_at IS NULL", &[])
                .await
                .unwrap()
                .get(0);
            if left == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(left, 0, "the relay publishes the waiting events once the broker is back");
        let (brokers, topic) = (broker.addr(), format!("{prefix}order.created"));
        let records = tokio::task::spawn_blocking(move || {
            let records = testkit::read(&brokers, &topic, 2, 5, Duration::from_secs(1));
            if records.len() != 5 {
                // Tells a lost event (offsets that did not move) from one the reader missed.
                eprintln!(
                    "read {} records; the broker's offsets: {:?}",
                    records.len(),
                    testkit::watermarks(&brokers, &topic, 2)
                );
            }
            records
        })
        .await
        .unwrap();
        // Across an outage the relay delivers at least once (docs/events.md): a produce that was in flight when
        // the broker went away may arrive and be sent again. Every order's event is there, nothing else is,
        // and the reports below count each event once.
        let mut keys: Vec<&str> = records.iter().map(|record| record.key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut expected: Vec<&str> = order_ids.iter().map(String::as_str).collect();
        expected.sort_unstable();
        assert_eq!(keys, expected, "every order's event, and no other");
        let mut event_ids: Vec<&str> = records.iter().filter_map(|record| record.header("ce_id")).collect();
        event_ids.sort_unstable();
        event_ids.dedup();
        assert_eq!(event_ids.len(), 5, "one event id per order");

        // Then the analytics consumer reads them: all five orders in today's sales. (It starts only now:
        // librdkafka 2.12 crashes when Tansu 0.6 answers a live consumer's fetch during a broker restart with
        // leader-change tags lacking a topic id; the consumer side of an outage is tested in bridge/tests.)
        app.start_consumer().unwrap();
        let path = format!("/analytics/sales?period=day&from={0}&to={0}", today());
        wait_for_buckets(&app, &path, &[b(&today(), 5, 5, 5000)], 200, "the orders placed while it was down").await;
    }

    #[tokio::test]
    async fn a_poison_message_is_dead_lettered_and_the_next_event_is_still_stored() {
        let mut app = spawn_local_app_with_events_on(&test_kafka_brokers()).await;
        app.start_consumer().unwrap();
        let prefix = app.topic_prefix().to_owned();
        // The relay creates the topics; wait until it has.
        let (created_topic, dead_letters) =
            (format!("{prefix}order.created"), format!("{prefix}analytics.dead-letter"));
        let order_id = uuid::Uuid::new_v4().to_string();
        let good = created_event(&order_id, "2026-05-05T12:00:00Z", &[(&uuid::Uuid::new_v4().to_string(), 4, 250)]);
        let topic = created_topic.clone();
        let good_bytes = serde_json::to_vec(&good).unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        tokio::task::spawn_blocking(move || {
            testkit::produce(&test_kafka_brokers(), &topic, &order_id, b"{\"specversion\": \"1.0\", \"id\": 42");
            testkit::produce(&test_kafka_brokers(), &topic, &order_id, &good_bytes);
        })
        .await
        .unwrap();

        let path = "/analytics/sales?period=day&from=2026-05-05&to=2026-05-05";
        let expected = [b("2026-05-05", 1, 4, 1000)];
        wait_for_buckets(&app, path, &expected, 150, "the event after the poison message").await;
        let records = tokio::task::spawn_blocking(move || {
            testkit::read(&test_kafka_brokers(), &dead_letters, 2, 1, Duration::from_millis(300))
        })
        .await
        .unwrap();
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!(records[0].value, "{\"specversion\": \"1.0\", \"id\": 42");
        assert_eq!(records[0].header("dlq_source_topic"), Some(created_topic.as_str()));
        let error = records[0].header("dlq_error").unwrap_or_default();
        // Not JSON, so the consumer sent it on its own rather than in a batch, and the app refused it.
        assert!(error.starts_with("400") && error.contains("malformed JSON"), "the refusal is recorded: {error}");
    }

    #[tokio::test]
    async fn the_dashboard_draws_its_charts_from_live_data_in_headless_chromium() {
        let app = spawn_local_app_with(&[]).await;
        let service = app.service_token();
        let Some(chromium) = e2e::browser::chromium() else {
            assert!(
                std::env::var_os("PYCOMMERCE_SKIP_BROWSER").is_some(),
                "Chromium is needed (apt-get install chromium; .ci/run installs it), or set PYCOMMERCE_SKIP_BROWSER=1"
            );
            return;
        };
        eprintln!("using {}", chromium.display());
        let cups = product(&app, 1250, 5).await;
        let at = format!("{}T09:00:00Z", today());
        ingest(&app, &service, &created_event(&uuid::Uuid::new_v4().to_string(), &at, &[(&cups, 3, 1250)])).await;
        ingest(&app, &service, &created_event(&uuid::Uuid::new_v4().to_string(), &at, &[(&cups, 1, 1250)])).await;

        let page = app.get("/analytics/dashboard").await;
        assert_eq!(page.status(), 200);
        assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));

        let screenshot = e2e::workspace_root().join("target/e2e-artifacts/dashboard.png");
        std::fs::create_dir_all(screenshot.parent().unwrap()).unwrap();
        let url = app.url(&format!("/analytics/dashboard#token={}", app.token(Role::Admin)));
        let dom = e2e::browser::render(&url, &screenshot).await.unwrap();
        assert!(dom.contains("data-state=\"ready\""), "the page finished drawing: {dom}");
        let bars = e2e::browser::elements(&dom, "rect");
        let sales: Vec<_> = bars.iter().filter(|bar| bar.contains_key("data-start")).collect();
        assert_eq!(sales.len(), 30, "one bar per day of the default range");
        let drawn: Vec<_> = sales.iter().filter(|bar| bar["data-revenue-cents"] != "0").collect();
        assert_eq!(drawn.len(), 1);
        assert_eq!(drawn[0]["data-start"], today());
        assert_eq!((drawn[0]["data-revenue-cents"].as_str(), drawn[0]["data-orders"].as_str()), ("5000", "2"));
        let top: Vec<_> = bars.iter().filter(|bar| bar.contains_key("data-product-id")).collect();
        assert_eq!(top.len(), 1);
        assert_eq!((top[0]["data-product-id"].as_str(), top[0]["data-units"].as_str()), (cups.as_str(), "4"));
        assert!(dom.contains("Espresso cup"), "product names come from the catalog");
        assert!(std::fs::metadata(&screenshot).unwrap().len() > 10_000, "a screenshot was saved");
    }
}
