//! Operator tasks on accounts that the API cannot do for itself: the first admin. The API lets an admin
//! change roles, so someone must become admin first; an operator with database access promotes a registered
//! account (no default credentials exist anywhere).

use tokio_postgres::NoTls;

/// Gives the registered, not deleted account with `email` the admin role; whether one was found. The user
/// signs in again to get a token with the new role.
pub async fn promote(database_url: &str, email: &str) -> anyhow::Result<bool> {
    let (client, connection) = tokio_postgres::connect(database_url, NoTls).await?;
    let driver = tokio::spawn(connection);
    let email = email.trim().to_lowercase();
    let updated = client
        .execute(
            "UPDATE users.users SET role = 'admin', updated_at = now() WHERE email = $1 AND deleted_at IS NULL",
            &[&email],
        )
        .await?;
    drop(client);
    let _ = driver.await;
    Ok(updated == 1)
}
