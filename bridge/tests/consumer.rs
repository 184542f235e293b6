//! The analytics consumer against a real Kafka-protocol broker (a Tansu of the test's own) and a stand-in
//! for the ingest routes that answers what each test needs: an event the app keeps failing is dead-lettered
//! after a bounded number of attempts, an unreachable app delays events without dead-lettering them,
//! committed offsets are not consumed again by the next consumer of the group, a burst is one batch whose
//! refused event alone is dead-lettered, and an app without the batch route gets events one by one.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bridge::consumer::{AnalyticsConsumer, ConsumerSettings};
use bridge::kafka::KafkaSettings;
use bridge::metrics::Metrics;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;

use testkit::Broker;

/// One call the stand-in received.
#[derive(Clone, Debug)]
struct Call {
    batch: bool,
    body: String,
    token: String,
}

/// The ingest stand-in. The one-event route answers `status`; the batch route answers `status` too unless
/// it is 200 or 201, then one result per event: `refused` for an event containing `poison`, else
/// `stored`. With `batch_missing`, the batch route answers 404 (an app without it).
#[derive(Clone, Default)]
struct Ingest {
    status: Arc<AtomicU16>,
    batch_missing: Arc<AtomicBool>,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Ingest {
    async fn serve(&self, listener: tokio::net::TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let ingest = self.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let ingest = ingest.clone();
                    async move {
                        let batch = request.uri().path().ends_with("/batch");
                        let token = request
                            .headers()
                            .get("authorization")
                            .and_then(|value| value.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        let body = request.into_body().collect().await.map(|body| body.to_bytes()).unwrap_or_default();
                        let body = String::from_utf8_lossy(&body).into_owned();
                        ingest.calls.lock().unwrap().push(Call { batch, body: body.clone(), token });
                        let (status, answer) = ingest.answer(batch, &body);
                        Ok::<_, Infallible>(
                            hyper::Response::builder().status(status).body(Full::new(Bytes::from(answer))).unwrap(),
                        )
                    }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    }

    fn answer(&self, batch: bool, body: &str) -> (u16, String) {
        let status = self.status.load(Ordering::SeqCst);
        if !batch {
            return (status, "{}".to_owned());
        }
        if self.batch_missing.load(Ordering::SeqCst) {
            return (404, "{}".to_owned());
        }
        if status != 200 && status != 201 {
            return (status, "{}".to_owned());
        }
        let results: Vec<serde_json::Value> = batch_events(body)
            .iter()
            .map(|event| match event.contains("poison") {
                true => serde_json::json!({ "event_id": null, "outcome": "refused", "error": "type: unknown" }),
                false => serde_json::json!({ "event_id": null, "outcome": "stored" }),
            })
            .collect();
        (200, serde_json::json!({ "results": results }).to_string())
    }

    fn calls(&self) -> usize {
        self.calls.lock().unwrap().len()
    }

    fn batch_calls(&self) -> usize {
        self.calls.lock().unwrap().iter().filter(|call| call.batch).count()
    }

    /// Every event delivered, in order: one per one-event call, each of a batch call's events.
    fn events(&self) -> Vec<String> {
        let calls = self.calls.lock().unwrap();
        calls
            .iter()
            .flat_map(|call| if call.batch { batch_events(&call.body) } else { vec![call.body.clone()] })
            .collect()
    }
}

/// The events of a batch body, each as compact JSON.
fn batch_events(body: &str) -> Vec<String> {
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    body["events"].as_array().unwrap().iter().map(|event| event.to_string()).collect()
}

fn settings(broker: &Broker, ingest_url: String, group: &str) -> ConsumerSettings {
    let mut kafka = KafkaSettings::new(broker.addr());
    kafka.partitions = 1;
    kafka.timeout = Duration::from_secs(5);
    let (private, _) = kit::jwt::generate_key_pair().unwrap();
    ConsumerSettings {
        kafka,
        group_id: group.to_owned(),
        ingest_url,
        signer: kit::jwt::Signer::from_pem(&private).unwrap(),
        issuer: "pycommerce".to_owned(),
        audience: "pycommerce-api".to_owned(),
        max_attempts: 3,
        http_timeout: Duration::from_secs(2),
        fetch_wait: Duration::from_millis(10),
        batch_max_events: 100,
        batch_linger: Duration::from_millis(20),
    }
}

/// Creates the topics (as the consumer would) and starts consuming; also returns its metrics.
async fn start(settings: ConsumerSettings) -> (tokio::task::JoinHandle<()>, Arc<Metrics>) {
    settings.kafka.ensure_topics().await.unwrap();
    let metrics = Arc::new(Metrics::new());
    let consumer = Arc::new(AnalyticsConsumer::new(settings, metrics.clone()).unwrap());
    (tokio::spawn(consumer.run()), metrics)
}

fn rendered(metrics: &Metrics) -> String {
    let unused = bridge::db::Database::new("postgres://postgres@127.0.0.1:5432/unused", 1, Duration::from_secs(1));
    metrics.render(&unused.unwrap())
}

async fn produce(broker: &Broker, value: &str) {
    let producer: FutureProducer = ClientConfig::new().set("bootstrap.servers", broker.addr()).create().unwrap();
    producer
        .send(FutureRecord::to("order.created").key("order-1").payload(value), Duration::from_secs(10))
        .await
        .map_err(|(error, _)| error)
        .unwrap();
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..300 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn dead_letters(broker: &Broker, expected: usize) -> Vec<testkit::Record> {
    let brokers = broker.addr();
    tokio::task::spawn_blocking(move || {
        testkit::read(&brokers, "analytics.dead-letter", 1, expected, Duration::from_millis(500))
    })
    .await
    .unwrap()
}

async fn ingest_server(status: u16) -> (Ingest, String, tokio::task::JoinHandle<()>) {
    let ingest = Ingest::default();
    ingest.status.store(status, Ordering::SeqCst);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/analytics/events", listener.local_addr().unwrap());
    let server = ingest.clone();
    let task = tokio::spawn(async move { server.serve(listener).await });
    (ingest, url, task)
}

#[tokio::test]
async fn an_event_the_app_keeps_failing_is_dead_lettered_after_bounded_attempts() {
    let broker = Broker::start().await;
    let (ingest, url, _server) = ingest_server(500).await;
    let (consumer, metrics) = start(settings(&broker, url, "analytics")).await;

    produce(&broker, r#"{"id":"first"}"#).await;
    let records = dead_letters(&broker, 1).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].value, r#"{"id":"first"}"#);
    // The batch failed as a whole, so the event was tried on its own: max_attempts tries, then the
    // dead-letter topic.
    assert_eq!((ingest.batch_calls(), ingest.calls()), (1, 4));
    let token = ingest.calls.lock().unwrap()[0].token.clone();
    assert!(token.starts_with("Bearer "), "a service token is sent");

    // The partition is not blocked: the next event is delivered as soon as the app accepts it.
    ingest.status.store(201, Ordering::SeqCst);
    produce(&broker, r#"{"id":"second"}"#).await;
    wait_for("the second event", || ingest.events().iter().any(|event| event.contains("second"))).await;
    wait_for("the second event counted", || rendered(&metrics).contains("outcome=\"stored\"} 1")).await;
    let text = rendered(&metrics);
    assert!(
        text.contains("bridge_events_consumed_total{topic=\"order.created\",outcome=\"dead_lettered\"} 1"),
        "{text}"
    );
    consumer.abort();
}

#[tokio::test]
async fn an_unreachable_app_delays_events_but_never_dead_letters_them() {
    let broker = Broker::start().await;
    let (ingest, url, _server) = ingest_server(503).await;
    let (consumer, _) = start(settings(&broker, url, "analytics")).await;

    produce(&broker, r#"{"id":"patient"}"#).await;
    wait_for("five tries while unavailable", || ingest.calls() >= 5).await;
    ingest.status.store(201, Ordering::SeqCst);
    let tried = ingest.calls();
    wait_for("delivery once the app is back", || ingest.calls() > tried).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(dead_letters(&broker, 0).await.is_empty(), "an outage is not a poison message");
    consumer.abort();
}

#[tokio::test]
async fn a_stored_event_is_not_consumed_again_by_the_next_consumer_of_the_group() {
    let broker = Broker::start().await;
    let (ingest, url, _server) = ingest_server(201).await;
    let (first, _) = start(settings(&broker, url.clone(), "analytics")).await;
    produce(&broker, r#"{"id":"once"}"#).await;
    wait_for("the event", || ingest.calls() == 1).await;
    // Let the asynchronous commit reach the broker, then replace the consumer.
    tokio::time::sleep(Duration::from_secs(1)).await;
    first.abort();
    let _ = first.await;

    let (second, _) = start(settings(&broker, url, "analytics")).await;
    produce(&broker, r#"{"id":"after"}"#).await;
    wait_for("the next event", || ingest.calls() >= 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ingest.events(), vec![r#"{"id":"once"}"#.to_owned(), r#"{"id":"after"}"#.to_owned()]);
    second.abort();
}

#[tokio::test]
async fn a_burst_is_posted_as_one_batch_and_a_refused_event_in_it_is_dead_lettered_alone() {
    let broker = Broker::start().await;
    let (ingest, url, _server) = ingest_server(201).await;
    let mut settings = settings(&broker, url, "analytics");
    // Long enough that the whole burst, produced at once, lands in the first batch.
    settings.batch_linger = Duration::from_secs(2);
    settings.kafka.ensure_topics().await.unwrap();
    for id in ["a", "b", "poison", "c"] {
        produce(&broker, &format!(r#"{{"id":"{id}"}}"#)).await;
    }
    let (consumer, metrics) = start(settings).await;

    let records = dead_letters(&broker, 1).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].value, r#"{"id":"poison"}"#);
    assert_eq!(records[0].header("dlq_error"), Some("422: type: unknown"));
    assert_eq!(records[0].header("dlq_attempts"), Some("1"));
    wait_for("the burst counted", || rendered(&metrics).contains("outcome=\"stored\"} 3")).await;
    assert_eq!(ingest.calls(), 1, "one request for the burst, no retry of the refused event");
    assert_eq!(ingest.events().len(), 4);
    consumer.abort();
}

#[tokio::test]
async fn an_app_without_the_batch_route_gets_each_event_on_its_own() {
    let broker = Broker::start().await;
    let (ingest, url, _server) = ingest_server(201).await;
    ingest.batch_missing.store(true, Ordering::SeqCst);
    let (consumer, metrics) = start(settings(&broker, url, "analytics")).await;
    produce(&broker, r#"{"id":"one"}"#).await;
    produce(&broker, "not json").await;
    wait_for("both delivered", || rendered(&metrics).contains("outcome=\"stored\"} 2")).await;
    let singles: Vec<String> =
        ingest.calls.lock().unwrap().iter().filter(|call| !call.batch).map(|call| call.body.clone()).collect();
    assert!(singles.contains(&r#"{"id":"one"}"#.to_owned()), "{singles:?}");
    assert!(singles.contains(&"not json".to_owned()), "a payload that is not JSON goes on its own: {singles:?}");
    assert!(dead_letters(&broker, 0).await.is_empty());
    consumer.abort();
}
