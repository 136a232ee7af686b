//! The database connection: opened lazily, dropped on transient errors so the next call
//! reconnects, with a cache of prepared statements; and what each server error means.

use std::collections::HashMap;
use std::fmt;

use aqueduct_sdk::{ConnectError, ErrorKind};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Statement};
use tracing::{info, warn};

/// What a failed statement means for the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Connection lost, serialization failure, deadlock, server shutting down: retry later.
    Retriable,
    /// A table or column the sink knew is gone or changed: reload the table and try again.
    SchemaChanged,
    /// A value the database rejects (bad format, out of range, constraint): one record's fault.
    Data,
    /// Anything else (permissions, unsupported statement).
    Fatal,
}

/// A failed database call, classified.
#[derive(Debug)]
pub struct DbError {
    /// What it means.
    pub failure: Failure,
    /// The server's or driver's error.
    pub error: tokio_postgres::Error,
}

impl DbError {
    /// Classifies a driver error.
    pub fn new(error: tokio_postgres::Error) -> Self {
        DbError { failure: classify(&error), error }
    }

    /// A [`ConnectError`] of the matching kind with `context` (the table, the record).
    pub fn into_connect(self, context: impl Into<String>) -> ConnectError {
        let kind = match self.failure {
            Failure::Retriable => ErrorKind::Retriable,
            Failure::Data => ErrorKind::Data,
            Failure::SchemaChanged | Failure::Fatal => ErrorKind::Fatal,
        };
        ConnectError::new(kind, context).with_source(PgMessage(self.error))
    }
}

/// The driver error with the server's detail and hint, which its `Display` leaves out.
#[derive(Debug)]
pub struct PgMessage(pub tokio_postgres::Error);

impl fmt::Display for PgMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_db_error() {
            Some(db) => {
                write!(f, "{}: {} (SQLSTATE {})", db.severity(), db.message(), db.code().code())?;
                if let Some(detail) = db.detail() {
                    write!(f, "; detail: {detail}")?;
                }
                if let Some(hint) = db.hint() {
                    write!(f, "; hint: {hint}")?;
                }
                Ok(())
            }
            None => write!(f, "{}", self.0),
        }
    }
}

impl std::error::Error for PgMessage {}

/// What a driver error means.
pub fn classify(error: &tokio_postgres::Error) -> Failure {
    let Some(code) = error.code() else {
        // No SQLSTATE: I/O, a closed connection, a protocol error: the connection is suspect.
        return Failure::Retriable;
    };
    let text = code.code();
    if *code == SqlState::UNDEFINED_COLUMN || *code == SqlState::UNDEFINED_TABLE || *code == SqlState::DATATYPE_MISMATCH
    {
        return Failure::SchemaChanged;
    }
    if [SqlState::ADMIN_SHUTDOWN, SqlState::CRASH_SHUTDOWN, SqlState::CANNOT_CONNECT_NOW, SqlState::QUERY_CANCELED]
        .contains(code)
    {
        return Failure::Retriable;
    }
    match &text[..2] {
        "08" | "40" | "53" | "55" | "58" => Failure::Retriable,
        "22" | "23" => Failure::Data,
        _ => Failure::Fatal,
    }
}

/// A lazily opened connection with prepared statements.
pub struct Db {
    config: tokio_postgres::Config,
    url: String,
    client: Option<Client>,
    statements: HashMap<String, Statement>,
}

impl Db {
    /// A connection to `config` (opened on first use); `url` is shown in logs.
    pub fn new(config: tokio_postgres::Config, url: String) -> Self {
        Db { config, url, client: None, statements: HashMap::new() }
    }

    /// The URL, password hidden.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The client, connecting first if needed.
    pub async fn client(&mut self) -> Result<&Client, DbError> {
        let client = match self.client.take() {
            Some(client) => client,
            None => {
                let (client, connection) = self.config.connect(NoTls).await.map_err(DbError::new)?;
                let url = self.url.clone();
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        warn!(url = %url, error = %PgMessage(e), "PostgreSQL connection closed with an error");
                    }
                });
                // Timestamps without a zone are read and written as UTC.
                client.batch_execute("SET TIME ZONE 'UTC'").await.map_err(DbError::new)?;
                info!(url = %self.url, "connected to PostgreSQL");
                self.statements.clear();
                client
            }
        };
        Ok(self.client.insert(client))
    }

    /// Rolls back the open transaction, if the connection is still there (a dropped connection
    /// took its transaction with it); errors are ignored, the transaction is gone either way.
    pub async fn rollback(&mut self) {
        if let Some(client) = &self.client {
            if let Err(e) = client.batch_execute("ROLLBACK").await {
                warn!(url = %self.url, error = %PgMessage(e), "ROLLBACK failed; dropping the connection");
                self.reset();
            }
        }
    }

    /// Drops the connection (after a transient error); the next call reconnects.
    pub fn reset(&mut self) {
        self.client = None;
        self.statements.clear();
    }

    /// Forgets prepared statements (after DDL changed a table).
    pub fn forget_statements(&mut self) {
        self.statements.clear();
    }

    /// Runs statements without parameters (transaction control, DDL).
    pub async fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        let result = self.client().await?.batch_execute(sql).await;
        self.checked(result)
    }

    /// Executes a statement (prepared once per connection) and returns the rows affected.
    pub async fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, DbError> {
        let statement = self.prepare(sql).await?;
        let result = self.client().await?.execute(&statement, params).await;
        self.checked(result)
    }

    /// Runs a query (prepared once per connection).
    pub async fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, DbError> {
        let statement = self.prepare(sql).await?;
        let result = self.client().await?.query(&statement, params).await;
        self.checked(result)
    }

    /// Runs `COPY ... FROM STDIN` with `data` (text format); returns the rows copied.
    pub async fn copy_in(&mut self, sql: &str, data: bytes::Bytes) -> Result<u64, DbError> {
        use futures::SinkExt;
        let result = async {
            let sink = self.client().await.map_err(|e| e.error)?.copy_in::<_, bytes::Bytes>(sql).await?;
            futures::pin_mut!(sink);
            sink.send(data).await?;
            sink.finish().await
        }
        .await;
        self.checked(result)
    }

    async fn prepare(&mut self, sql: &str) -> Result<Statement, DbError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let result = self.client().await?.prepare(sql).await;
        let statement = self.checked(result)?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// Classifies an error, dropping the connection when it is transient.
    fn checked<T>(&mut self, result: Result<T, tokio_postgres::Error>) -> Result<T, DbError> {
        result.map_err(|e| {
            let error = DbError::new(e);
            if error.failure == Failure::Retriable {
                self.reset();
            }
            error
        })
    }
}
