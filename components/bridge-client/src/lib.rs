//! # bridge-client — the `pycommerce:bridge` WIT interfaces, implemented over gRPC-Web
//!
//! A Spin *component dependency*: a component that imports `pycommerce:bridge/catalog`, `/accounts` or `/events`
//! declares it under `[component.<name>.dependencies]` with `dependencies_inherit_configuration = true`,
//! and Spin satisfies those imports with this component's exports. Each call is one unary gRPC-Web request
//! (HTTP/1.1, Spin's outbound HTTP) to the bridge at the `bridge_url` variable — which the *importing*
//! component must list among its variables and `allowed_outbound_hosts` — bounded by `bridge_timeout_ms`
//! (default 2 s). Each request carries `authorization: Bearer <bridge_token>` (a secret variable the
//! importing component lists too) and the caller's request id, the first parameter of every function, as
//! `x-request-id`.
//!
//! Encoding, framing and the status mapping live in `bridge-proto`, shared with the native client; this
//! crate only moves bytes and converts records.
//!
//! ## Layout
//! - `lib.rs`: the WIT bindings, the transport and the three exported interfaces (wasm32 only; natively the
//!   crate is empty).

#[cfg(target_arch = "wasm32")]
mod component {
    use std::time::Duration;

    use bridge_proto::catalog::v1 as catalog_pb;
    use bridge_proto::events::v1 as events_pb;
    use bridge_proto::users::v1 as users_pb;
    use bridge_proto::{grpc_web, methods, BridgeError};

    spin_sdk::wit_bindgen::generate!({
        world: "client",
        path: "../../wit",
        runtime_path: "::spin_sdk::wit_bindgen::rt",
    });

    use exports::pycommerce::bridge::{accounts, catalog, events};

    struct Component;

    export!(Component);

    /// The WIT error of each interface, from the shared one.
    macro_rules! wit_error {
        ($module:ident) => {
            impl From<BridgeError> for $module::Error {
                fn from(error: BridgeError) -> Self {
                    match error {
                        BridgeError::NotFound(message) => $module::Error::NotFound(message),
                        BridgeError::Forbidden(message) => $module::Error::Forbidden(message),
                        BridgeError::InsufficientStock(message) => $module::Error::InsufficientStock(message),
                        BridgeError::Invalid(message) => $module::Error::Invalid(message),
                        BridgeError::Unavailable(message) => $module::Error::Unavailable(message),
                    }
                }
            }
        };
    }
    wit_error!(catalog);
    wit_error!(accounts);
    wit_error!(events);

    /// One unary call: POST the framed request, decode frames and trailers.
    fn call<Request: prost::Message, Reply: prost::Message + Default>(
        method: &str,
        request_id: &str,
        request: &Request,
    ) -> Result<Reply, BridgeError> {
        let unavailable = |reason: String| BridgeError::Unavailable(reason);
        let base = spin_sdk::variables::get("bridge_url").map_err(|e| unavailable(format!("bridge_url: {e}")))?;
        // The error never quotes the token's value.
        let token = spin_sdk::variables::get("bridge_token").map_err(|e| unavailable(format!("bridge_token: {e}")))?;
        let timeout = spin_sdk::variables::get("bridge_timeout_ms")
            .ok()
            .and_then(|ms| ms.trim().parse().ok())
            .map_or(Duration::from_secs(2), Duration::from_millis);
        let outgoing = http::Request::builder()
            .method(http::Method::POST)
            .uri(format!("{}{method}", base.trim_end_matches('/')))
            .header(http::header::CONTENT_TYPE, grpc_web::CONTENT_TYPE)
            .header("x-grpc-web", "1")
            .header("grpc-timeout", format!("{}m", timeout.as_millis()))
            .header(http::header::AUTHORIZATION, format!("Bearer {}", token.trim()));
        // A malformed id is dropped rather than failing the call: it only labels the bridge's log line.
        let outgoing = match http::HeaderValue::from_str(request_id) {
            Ok(value) if !request_id.is_empty() && request_id.len() <= 128 => outgoing.header("x-request-id", value),
            _ => outgoing,
        };
        let outgoing = outgoing
            .body(bytes::Bytes::from(grpc_web::encode_request(request)))
            .map_err(|e| unavailable(e.to_string()))?;
        let sent = spin_sdk::http::run(kit::spin_host::with_timeout(kit::spin_host::send(outgoing), timeout));
        let response = match sent {
            None => return Err(unavailable(format!("{method} timed out"))),
            Some(result) => result.map_err(|e| unavailable(e.to_string()))?,
        };
        let header = |name: &str| response.header(name).and_then(|value| value.as_str()).map(str::to_owned);
        let (code, message) = (header("grpc-status"), header("grpc-message").unwrap_or_default());
        let status = code.as_deref().map(|code| (code, message.as_str()));
        grpc_web::decode_response(*response.status(), status, response.body())
    }

    impl catalog::Guest for Component {
        fn get_product_by_id(request_id: String, product_id: String) -> Result<catalog::Product, catalog::Error> {
            let request = catalog_pb::GetProductByIdRequest { product_id };
            let product: catalog_pb::Product = call(methods::GET_PRODUCT_BY_ID, &request_id, &request)?;
            Ok(catalog::Product {
                id: product.id,
                sku: product.sku,
                name: product.name,
                price_cents: product.price_cents,
                currency: product.currency,
                stock: product.stock,
                active: product.active,
            })
        }

        fn check_stock(
            request_id: String,
            product_id: String,
            quantity: i32,
        ) -> Result<catalog::StockCheck, catalog::Error> {
            let request = catalog_pb::CheckStockRequest { product_id, quantity };
            let reply: catalog_pb::CheckStockResponse = call(methods::CHECK_STOCK, &request_id, &request)?;
            Ok(catalog::StockCheck { available: reply.available, in_stock: reply.in_stock })
        }

        fn reserve_stock(
            request_id: String,
            order_id: String,
            user_id: String,
            items: Vec<catalog::StockLine>,
            units_cap: Option<catalog::UnitsCap>,
        ) -> Result<catalog::Reservation, catalog::Error> {
            let items = items
                .into_iter()
                .map(|line| catalog_pb::StockLine { product_id: line.product_id, quantity: line.quantity })
                .collect();
            let units_cap = units_cap.map(|cap| catalog_pb::UnitsCap {
                max_units_per_product: cap.max_units_per_product,
                window_secs: cap.window_secs,
            });
            let request = catalog_pb::ReserveStockRequest { order_id, user_id, items, units_cap };
            let reply: catalog_pb::ReserveStockResponse = call(methods::RESERVE_STOCK, &request_id, &request)?;
            Ok(catalog::Reservation {
                newly_reserved: reply.newly_reserved,
                lines: reply
                    .lines
                    .into_iter()
                    .map(|line| catalog::ReservedLine {
                        product_id: line.product_id,
                        quantity: line.quantity,
                        name: line.name,
                        unit_price_cents: line.unit_price_cents,
                        currency: line.currency,
                    })
                    .collect(),
                units_cap_exceeded: reply.units_cap_exceeded.map(|over| catalog::UnitsCapExceeded {
                    product_id: over.product_id,
                    retry_after_secs: over.retry_after_secs,
                }),
            })
        }

        fn release_stock(request_id: String, order_id: String) -> Result<bool, catalog::Error> {
            let reply: catalog_pb::ReleaseStockResponse =
                call(methods::RELEASE_STOCK, &request_id, &catalog_pb::ReleaseStockRequest { order_id })?;
            Ok(reply.released)
        }
    }

    impl accounts::Guest for Component {
        fn get_user_by_id(request_id: String, user_id: String) -> Result<accounts::User, accounts::Error> {
            let user: users_pb::User =
                call(methods::GET_USER_BY_ID, &request_id, &users_pb::GetUserByIdRequest { user_id })?;
            Ok(accounts::User {
                id: user.id,
                email: user.email,
                full_name: user.full_name,
                role: user.role,
                active: user.active,
            })
        }

        fn is_user_active(request_id: String, user_id: String) -> Result<bool, accounts::Error> {
            let reply: users_pb::IsUserActiveResponse =
                call(methods::IS_USER_ACTIVE, &request_id, &users_pb::IsUserActiveRequest { user_id })?;
            Ok(reply.active)
        }
    }

    impl events::Guest for Component {
        fn publish_pending(request_id: String, aggregate_id: String) -> Result<bool, events::Error> {
            let reply: events_pb::PublishPendingResponse =
                call(methods::PUBLISH_PENDING, &request_id, &events_pb::PublishPendingRequest { aggregate_id })?;
            Ok(reply.relay_running)
        }
    }
}
