//! Bulk writes through the `insert`, `update` and `delete` commands (every server version),
//! reporting which write failed and why.

use mongodb::bson::{doc, Bson, Document};
use mongodb::Database;

/// One write, as a MongoDB bulk write model.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    /// `insertOne`.
    Insert(Document),
    /// `replaceOne`.
    Replace {
        /// Which document.
        filter: Document,
        /// Its new content.
        replacement: Document,
        /// Insert when none matches.
        upsert: bool,
    },
    /// `updateOne` with update operators.
    Update {
        /// Which document.
        filter: Document,
        /// `$set`, `$unset`, ...
        update: Document,
        /// Insert when none matches.
        upsert: bool,
    },
    /// `deleteOne`.
    Delete(Document),
}

impl WriteOp {
    fn command(&self) -> &'static str {
        match self {
            WriteOp::Insert(_) => "insert",
            WriteOp::Replace { .. } | WriteOp::Update { .. } => "update",
            WriteOp::Delete(_) => "delete",
        }
    }

    fn statement(&self) -> Document {
        match self {
            WriteOp::Insert(d) => d.clone(),
            WriteOp::Replace { filter, replacement, upsert } => {
                doc! { "q": filter.clone(), "u": replacement.clone(), "upsert": *upsert, "multi": false }
            }
            WriteOp::Update { filter, update, upsert } => {
                doc! { "q": filter.clone(), "u": update.clone(), "upsert": *upsert, "multi": false }
            }
            WriteOp::Delete(filter) => doc! { "q": filter.clone(), "limit": 1 },
        }
    }
}

/// A write the server refused.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteError {
    /// Index of the write in the slice given to [`execute`].
    pub index: usize,
    /// Server error code (11000: duplicate key).
    pub code: i32,
    /// Server message.
    pub message: String,
}

/// A bulk write that stopped on a command-level error (network, election, ...).
#[derive(Debug)]
pub struct Interrupted {
    /// Writes before this index are done (and their write errors in `errors`).
    pub done: usize,
    /// Write errors seen before the interruption.
    pub errors: Vec<WriteError>,
    /// The cause: retriable for network trouble, elections and write concern errors.
    pub error: aqueduct_sdk::ConnectError,
}

/// Most writes per command (the server's `maxWriteBatchSize` is 100,000).
const MAX_OPS_PER_COMMAND: usize = 10_000;
/// Most statement bytes per command (the server's limit is 16 MiB per command document).
const MAX_BYTES_PER_COMMAND: usize = 8 * 1024 * 1024;

/// Runs `ops` against `db.coll`, grouping consecutive writes of one kind into one command of at
/// most `max_batch` writes (0: no extra limit). Ordered: stops after the first failed write.
/// Returns the write errors, in order.
pub async fn execute(
    db: &Database,
    coll: &str,
    ops: &[WriteOp],
    ordered: bool,
    max_batch: usize,
) -> Result<Vec<WriteError>, Interrupted> {
    let limit = if max_batch == 0 { MAX_OPS_PER_COMMAND } else { max_batch.min(MAX_OPS_PER_COMMAND) };
    let mut errors = Vec::new();
    let mut start = 0;
    while start < ops.len() {
        let command = ops[start].command();
        let mut statements = Vec::new();
        let mut bytes = 0usize;
        let mut end = start;
        while end < ops.len() && ops[end].command() == command && statements.len() < limit {
            let statement = ops[end].statement();
            let size = mongodb::bson::to_vec(&statement).map_or(0, |v| v.len());
            if !statements.is_empty() && bytes + size > MAX_BYTES_PER_COMMAND {
                break;
            }
            bytes += size;
            statements.push(Bson::Document(statement));
            end += 1;
        }
        let field = match command {
            "insert" => "documents",
            "update" => "updates",
            _ => "deletes",
        };
        let cmd = doc! { command: coll, field: statements, "ordered": ordered };
        let reply = match db.run_command(cmd).await {
            Ok(reply) => reply,
            Err(e) => {
                let error = crate::errors::to_connect_error(e, || format!("bulk {command} into {}.{coll}", db.name()));
                return Err(Interrupted { done: start, errors, error });
            }
        };
        let mut failed = false;
        if let Ok(write_errors) = reply.get_array("writeErrors") {
            for e in write_errors.iter().filter_map(Bson::as_document) {
                let index = match e.get("index") {
                    Some(Bson::Int32(i)) => usize::try_from(*i).unwrap_or(0),
                    Some(Bson::Int64(i)) => usize::try_from(*i).unwrap_or(0),
                    _ => 0,
                };
                let code = e.get_i32("code").unwrap_or_default();
                let message = e.get_str("errmsg").unwrap_or_default().to_owned();
                errors.push(WriteError { index: start + index, code, message });
                failed = true;
            }
        }
        if let Ok(wce) = reply.get_document("writeConcernError") {
            let error = aqueduct_sdk::ConnectError::retriable(format!(
                "bulk {command} into {}.{coll}: write concern error {}: {}",
                db.name(),
                wce.get_i32("code").unwrap_or_default(),
                wce.get_str("errmsg").unwrap_or_default()
            ));
            return Err(Interrupted { done: start, errors, error });
        }
        if failed && ordered {
            return Ok(errors);
        }
        start = end;
    }
    Ok(errors)
}
