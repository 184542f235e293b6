//! `pycommerce.users.v1.UserService`, read-only, through the users component's store (the bridge writes no
//! SQL on `users.*` itself).

use bridge_proto::users::v1::user_service_server::UserService;
use bridge_proto::users::v1::{GetUserByIdRequest, IsUserActiveRequest, IsUserActiveResponse, User};
use bridge_proto::BridgeError;
use kit::db::Db;
use tonic::{Request, Response, Status};

use crate::db::{unavailable, uuid_arg};

/// The users service.
#[derive(Clone)]
pub struct Users {
    db: Db,
}

impl Users {
    /// The service over `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// `GetUserById`: deleted users are NOT_FOUND.
    pub async fn user(&self, id: &str) -> Result<User, BridgeError> {
        let id = uuid_arg(id, "user_id")?;
        let user = users::store::find(&self.db, id)
            .await
            .map_err(|error| unavailable(&error))?
            .ok_or_else(|| BridgeError::NotFound(format!("user {id} does not exist")))?;
        Ok(User {
            id: user.id,
            email: user.email,
            full_name: user.full_name,
            role: user.role.as_str().to_owned(),
            active: user.active,
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
