//! Exactly-once delivery: the next Kafka offset of every topic partition is stored in a table
//! (`offsets.storage.table`) in the same transaction as the rows, and read back when partitions
//! are assigned so consumption resumes right after what the database holds.
//!
//! A stored offset only moves forward: the upsert's `DO UPDATE ... WHERE stored < new` leaves
//! a row that is already at or past the batch's, and such a row means another task wrote the
//! partition since this one read it (a stale task after a rebalance), so the transaction is
//! rolled back with a fatal error instead of committing stale rows. After a `COMMIT` of unknown
//! outcome the task reads the offsets again before writing, and skips what they cover.

use aqueduct_sdk::{Result, TopicPartition, TopicPartitionOffsets};

use super::conn::{Db, DbError};
use super::table::{Quoting, TableId};

/// The offsets table of one connector.
#[derive(Debug, Clone)]
pub struct OffsetStore {
    sql_name: String,
    display: String,
    connector: String,
}

impl OffsetStore {
    /// The store in `table` for `connector`.
    pub fn new(table: &TableId, quoting: Quoting, connector: &str) -> Self {
        OffsetStore { sql_name: table.sql(quoting), display: table.to_string(), connector: connector.to_owned() }
    }

    /// The table name, for messages.
    pub fn name(&self) -> &str {
        &self.display
    }

    /// Creates the table when missing.
    pub async fn create(&self, db: &mut Db) -> Result<()> {
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} (connector TEXT NOT NULL, topic TEXT NOT NULL, \"partition\" INTEGER NOT NULL, \
             next_offset BIGINT NOT NULL, PRIMARY KEY (connector, topic, \"partition\"))",
            self.sql_name
        );
        db.batch(&sql).await.map_err(|e| e.into_connect(format!("creating the offsets table {}", self.display)))
    }

    /// The stored next offsets of these partitions (those without a row are left out).
    pub async fn read(&self, db: &mut Db, partitions: &[TopicPartition]) -> Result<TopicPartitionOffsets> {
        let topics: Vec<&str> = partitions.iter().map(|tp| tp.topic.as_str()).collect();
        let numbers: Vec<i32> = partitions.iter().map(|tp| tp.partition).collect();
        let sql = format!(
            "SELECT o.topic, o.\"partition\", o.next_offset FROM {} AS o \
             JOIN UNNEST($2::text[], $3::int4[]) AS a(topic, p) ON o.topic = a.topic AND o.\"partition\" = a.p \
             WHERE o.connector = $1",
            self.sql_name
        );
        let rows = db
            .query(&sql, &[&self.connector, &topics, &numbers])
            .await
            .map_err(|e| e.into_connect(format!("reading offsets from {}", self.display)))?;
        Ok(rows
            .iter()
            .map(|r| (TopicPartition::new(r.get::<_, String>(0), r.get::<_, i32>(1)), r.get::<_, i64>(2)))
            .collect())
    }

    /// Stores next offsets, inside the caller's transaction, never moving one back: returns the
    /// partitions whose stored offset is already at or past this one (another task wrote them
    /// since this one read them: this task is stale), which are left as they are.
    pub async fn write(
        &self,
        db: &mut Db,
        offsets: &TopicPartitionOffsets,
    ) -> std::result::Result<Vec<TopicPartition>, DbError> {
        if offsets.is_empty() {
            return Ok(Vec::new());
        }
        let topics: Vec<&str> = offsets.keys().map(|tp| tp.topic.as_str()).collect();
        let numbers: Vec<i32> = offsets.keys().map(|tp| tp.partition).collect();
        let next: Vec<i64> = offsets.values().copied().collect();
        let sql = format!(
            "INSERT INTO {} AS __o (connector, topic, \"partition\", next_offset) \
             SELECT $1, t, p, n FROM UNNEST($2::text[], $3::int4[], $4::int8[]) AS u(t, p, n) \
             ON CONFLICT (connector, topic, \"partition\") DO UPDATE SET next_offset = EXCLUDED.next_offset \
             WHERE __o.next_offset < EXCLUDED.next_offset RETURNING __o.topic, __o.\"partition\"",
            self.sql_name
        );
        let written = db.query(&sql, &[&self.connector, &topics, &numbers, &next]).await?;
        let written: Vec<TopicPartition> =
            written.iter().map(|r| TopicPartition::new(r.get::<_, String>(0), r.get::<_, i32>(1))).collect();
        Ok(offsets.keys().filter(|tp| !written.contains(tp)).cloned().collect())
    }

    /// The error of a stale task: the stored offsets of `stale` (read in the open transaction)
    /// are at or past those of the batch, `offsets`.
    pub async fn stale_error(
        &self,
        db: &mut Db,
        stale: &[TopicPartition],
        offsets: &TopicPartitionOffsets,
    ) -> aqueduct_sdk::ConnectError {
        let stored = self.read(db, stale).await.unwrap_or_default();
        let details: Vec<String> = stale
            .iter()
            .map(|tp| {
                let mine = offsets.get(tp).copied().unwrap_or_default();
                let theirs = stored.get(tp).map_or_else(|| "?".to_owned(), i64::to_string);
                format!("{}-{}: stored next offset {theirs}, this batch's {mine}", tp.topic, tp.partition)
            })
            .collect();
        aqueduct_sdk::ConnectError::fatal(format!(
            "this task is stale: another task has written its partitions since they were assigned to it \
             (the offsets table {} is ahead: {}); the batch was rolled back, nothing of it is committed",
            self.display,
            details.join("; ")
        ))
    }
}
