//! # openapi — the OpenAPI 3.1 document of Py-Commerce's public HTTP API
//!
//! Generated with [utoipa] from the schemas and operation stubs here, written to `docs/openapi.json`
//! (`cargo run -p openapi -- docs/openapi.json`) and served by the gateway at `GET /openapi.json`, with a
//! page rendering it at `GET /docs`. The tests check that the committed file is what this crate generates,
//! that it is structurally valid OpenAPI 3.1, and that it lists exactly the routes the gateway serves.
//!
//! ## Layout
//! - [`schemas`]: request and response bodies, query parameters, the problem type.
//! - [`paths`]: one stub per public operation (method, path, parameters, responses, security).
//! - [`contract`]: what the attributes cannot state — the responses every operation may get from the gateway,
//!   and the exact input patterns of the components' domain types.
//! - this file: the document — info, servers, tags, the bearer security scheme.

pub mod contract;
pub mod paths;
pub mod schemas;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Where the committed document lives, relative to the workspace root.
pub const DOCUMENT_PATH: &str = "docs/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Py-Commerce API",
        description = "E-commerce backend on Spin: accounts, catalog, orders and analytics behind one gateway. \
                       JSON in and out (snake_case); every error is RFC 9457 application/problem+json; every \
                       response carries x-request-id. Access tokens are EdDSA JWTs from /auth/login.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    servers((url = "/", description = "The gateway that serves this document")),
    paths(
        paths::health,
        paths::health_live,
        paths::openapi_json,
        paths::api_docs,
        paths::register,
        paths::login,
        paths::refresh,
        paths::logout,
        paths::jwks,
        paths::create_user,
        paths::list_users,
        paths::get_me,
        paths::get_user,
        paths::update_user,
        paths::delete_user,
        paths::change_password,
        paths::list_products,
        paths::create_product,
        paths::get_product,
        paths::update_product,
        paths::adjust_stock,
        paths::delete_product,
        paths::list_categories,
        paths::create_category,
        paths::get_category,
        paths::update_category,
        paths::delete_category,
        paths::place_order,
        paths::list_orders,
        paths::get_order,
        paths::cancel_order,
        paths::top_products,
        paths::sales,
        paths::analytics_dashboard,
        paths::analytics_dashboard_script,
        paths::ingest_event,
        paths::ingest_event_batch,
    ),
    components(schemas(
        schemas::Problem, schemas::FieldError, schemas::Money, schemas::Price, schemas::Health, schemas::ServiceHealth,
        schemas::Live, schemas::Role, schemas::RegisterRequest, schemas::LoginRequest, schemas::RefreshRequest,
        schemas::TokenPair, schemas::Registered, schemas::Jwks, schemas::Jwk, schemas::User, schemas::UserPage,
        schemas::CreateUser, schemas::UpdateUser, schemas::ChangePassword, schemas::Product, schemas::ProductBody,
        schemas::ProductReplacement, schemas::StockAdjustment,
        schemas::ProductPage, schemas::ProductSort, schemas::Category, schemas::CategoryBody,
        schemas::CategoryPage, schemas::PlaceOrder, schemas::OrderLine, schemas::OrderStatus, schemas::Order,
        schemas::OrderItem, schemas::OrderPage, schemas::RankBy, schemas::TopProduct, schemas::TopProducts,
        schemas::SalesPeriod, schemas::SalesBucket, schemas::Sales, schemas::IngestResult, schemas::CloudEvent,
        schemas::EventBatch, schemas::BatchIngestResult, schemas::BatchEventResult, schemas::BatchOutcome,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "gateway", description = "Health and this documentation, answered by the gateway itself"),
        (name = "auth", description = "Registration, login, token rotation, JWKS (docs/auth.md)"),
        (name = "users", description = "Accounts (docs/auth.md)"),
        (name = "catalog", description = "Products and categories (docs/catalog.md)"),
        (name = "orders", description = "Orders (docs/orders.md)"),
        (name = "analytics", description = "Sales reports built from order events"),
    ),
)]
struct ApiDoc;

/// Adds the `bearer` security scheme the operations refer to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from POST /auth/login (EdDSA JWT, 15 minutes)."))
                    .build(),
            ),
        );
    }
}

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    contract::apply(&mut document);
    document
}

/// The document as committed: pretty JSON with a final newline.
pub fn to_json() -> String {
    let mut json = serde_json::to_string_pretty(&document()).unwrap_or_default();
    json.push('\n');
    json
}
