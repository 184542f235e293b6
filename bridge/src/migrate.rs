//! Database migrations: the SQL in `migrations/` (one folder per service schema), embedded at build time and
//! applied in version order by refinery, which records what it applied so a second run changes nothing.

use tokio_postgres::NoTls;

refinery::embed_migrations!("../migrations");

/// A migration failure.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The database URL is not valid.
    #[error("invalid database url: {0}")]
    Url(#[source] tokio_postgres::Error),
    /// Postgres could not be reached or refused a statement.
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Refinery(#[from] refinery::Error),
}

/// Applies every pending migration to the database at `url`; returns the versions applied now.
pub async fn run(url: &str) -> Result<Vec<String>, MigrateError> {
    let (mut client, connection) = tokio_postgres::connect(url, NoTls).await?;
    let connection = tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::error!(%error, "migration connection failed");
        }
    });
    let report = migrations::runner().run_async(&mut client).await?;
    drop(client);
    let _ = connection.await;
    Ok(report.applied_migrations().iter().map(|migration| migration.to_string()).collect())
}

/// Creates the database named in `url` when it does not exist, connecting to the `postgres` maintenance
/// database of the same server. Returns whether it was created.
pub async fn create_database(url: &str) -> Result<bool, MigrateError> {
    let mut config: tokio_postgres::Config = url.parse().map_err(MigrateError::Url)?;
    let name = config.get_dbname().unwrap_or("postgres").to_owned();
    config.dbname("postgres");
    let (client, connection) = config.connect(NoTls).await?;
    let connection = tokio::spawn(connection);
    let exists = client.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name]).await?.is_some();
    if !exists {
        // Identifiers cannot be bound as parameters: quote it.
        client.batch_execute(&format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""))).await?;
    }
    drop(client);
    let _ = connection.await;
    Ok(!exists)
}
