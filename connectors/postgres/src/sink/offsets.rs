//! Exactly-once delivery: the next Kafka offset of every topic partition is stored in a table
//! (`offsets.storage.table`) in the same transaction as the rows, and read back when partitions
//! are assigned so consumption resumes right after what the database holds.

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

    /// Stores next offsets, inside the caller's transaction.
    pub async fn write(&self, db: &mut Db, offsets: &TopicPartitionOffsets) -> std::result::Result<(), DbError> {
        if offsets.is_empty() {
            return Ok(());
        }
        let topics: Vec<&str> = offsets.keys().map(|tp| tp.topic.as_str()).collect();
        let numbers: Vec<i32> = offsets.keys().map(|tp| tp.partition).collect();
        let next: Vec<i64> = offsets.values().copied().collect();
        let sql = format!(
            "INSERT INTO {} (connector, topic, \"partition\", next_offset) \
             SELECT $1, t, p, o FROM UNNEST($2::text[], $3::int4[], $4::int8[]) AS u(t, p, o) \
             ON CONFLICT (connector, topic, \"partition\") DO UPDATE SET next_offset = EXCLUDED.next_offset",
            self.sql_name
        );
        db.execute(&sql, &[&self.connector, &topics, &numbers, &next]).await.map(|_| ())
    }
}
