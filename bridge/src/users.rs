//! `pycommerce.users.v1.UserService` over the `users` schema (read-only).

use bridge_proto::users::v1::user_service_server::UserService;
use bridge_proto::users::v1::{GetUserByIdRequest, IsUserActiveRequest, IsUserActiveResponse, User};
use bridge_proto::BridgeError;
use tonic::{Request, Response, Status};

use crate::db::{column, unavailable, uuid_arg, Database};

/// The users service.
#[derive(Clone)]
pub struct Users {
    db: Database,
}

impl Users {
    /// The service over `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// `GetUserById`: deleted users are NOT_FOUND.
    pub async fn user(&self, id: &str) -> Result<User, BridgeError> {
        let id = uuid_arg(id, "user_id")?;
        let row = self
            .db
            .run(async |client| {
                client
                    .query_opt(
                        "SELECT id, email, full_name, role, active FROM users.users WHERE id = $1 AND deleted_at IS NULL",
                        &[&id],
                    )
                    .await
                    .map_err(|e| unavailable(&e))
            })
            .await?
            .ok_or_else(|| BridgeError::NotFound(format!("user {id} does not exist")))?;
        Ok(User {
            id: column::<uuid::Uuid>(&row, "id")?.to_string(),
            email: column(&row, "email")?,
            full_name: column(&row, "full_name")?,
            role: column(&row, "role")?,
            active: column(&row, "active")?,
        })
    }
}

#[tonic::async_trait]
impl UserService for Users {
    async fn get_user_by_id(&self, request: Request<GetUserByIdRequest>) -> Result<Response<User>, Status> {
        Ok(Response::new(self.user(&request.into_inner().user_id).await?))
    }

    async fn is_user_active(
        &self,
        request: Request<IsUserActiveRequest>,
    ) -> Result<Response<IsUserActiveResponse>, Status> {
        let user = self.user(&request.into_inner().user_id).await?;
        Ok(Response::new(IsUserActiveResponse { active: user.active }))
    }
}
