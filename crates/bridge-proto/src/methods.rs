//! Full gRPC method paths (`/package.Service/Method`), as both transports put them on the wire.

/// `ProductService.GetProductById`.
pub const GET_PRODUCT_BY_ID: &str = "/pycommerce.catalog.v1.ProductService/GetProductById";
/// `ProductService.CheckStock`.
pub const CHECK_STOCK: &str = "/pycommerce.catalog.v1.ProductService/CheckStock";
/// `ProductService.ReserveStock`.
pub const RESERVE_STOCK: &str = "/pycommerce.catalog.v1.ProductService/ReserveStock";
/// `ProductService.ReleaseStock`.
pub const RELEASE_STOCK: &str = "/pycommerce.catalog.v1.ProductService/ReleaseStock";
/// `UserService.GetUserById`.
pub const GET_USER_BY_ID: &str = "/pycommerce.users.v1.UserService/GetUserById";
/// `UserService.IsUserActive`.
pub const IS_USER_ACTIVE: &str = "/pycommerce.users.v1.UserService/IsUserActive";
/// `OutboxService.PublishPending`.
pub const PUBLISH_PENDING: &str = "/pycommerce.events.v1.OutboxService/PublishPending";
/// The fully qualified service names.
pub const SERVICES: &[&str] =
    &["pycommerce.catalog.v1.ProductService", "pycommerce.users.v1.UserService", "pycommerce.events.v1.OutboxService"];
