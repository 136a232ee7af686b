//! Exactly once under faults: a stale task (its partitions now another's) cannot move stored
//! offsets back nor commit rows, and a COMMIT whose outcome is unknown (connection lost while
//! committing) is not applied twice.

use std::sync::atomic::AtomicBool;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

async fn stored_offset(client: &Client, table: &str, connector: &str) -> Vec<Vec<Option<String>>> {
    rows(client, &format!("SELECT next_offset::text FROM \"{table}\" WHERE connector = '{connector}'")).await
}

#[tokio::test]
async fn a_stale_task_cannot_move_offsets_back_nor_commit_its_rows() {
    let topic = unique("zombie");
    let offsets_table = unique("offsets");
    let settings =
        [("auto.create", "true"), ("offsets.storage.table", offsets_table.as_str()), ("name", "zombie-sink")];
    let p0 = TopicPartition::new(&topic, 0);
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut old = task(&ctx, &settings).await;
    old.open(std::slice::from_ref(&p0)).await.expect("open");
    write(&mut old, (0..5).map(|i| record(&topic, i, no_key(), user(i, "old"))).collect()).await.expect("put");
    // A rebalance gives the partition to another task; the old one is not told (a zombie).
    let mut new = task(&ctx, &settings).await;
    new.open(std::slice::from_ref(&p0)).await.expect("open");
    write(&mut new, (5..10).map(|i| record(&topic, i, no_key(), user(i, "new"))).collect()).await.expect("put");

    let err = write(&mut old, (5..8).map(|i| record(&topic, i, no_key(), user(i, "stale"))).collect())
        .await
        .expect_err("the stale task's transaction fails");
    assert!(!err.is_retriable(), "{err:?}");
    assert!(err.to_string().contains(&offsets_table) && err.to_string().contains("stale"), "{err}");
    let client = db().await;
    assert_eq!(stored_offset(&client, &offsets_table, "zombie-sink").await, strs(&[&[Some("10")]]), "not moved back");
    let got =
        rows(&client, &format!("SELECT count(*)::text, count(*) FILTER (WHERE name = 'stale')::text FROM \"{topic}\""))
            .await;
    assert_eq!(got, strs(&[&[Some("10"), Some("0")]]), "the stale rows were rolled back");
}

/// A TCP proxy in front of PostgreSQL that, once armed, loses the connection of the next
/// `COMMIT`: after handing it to the server (`deliver`, the commit happens) or instead of it.
struct CommitCutter {
    port: u16,
    armed: Arc<AtomicBool>,
    deliver: Arc<AtomicBool>,
}

impl CommitCutter {
    async fn start() -> CommitCutter {
        let config: tokio_postgres::Config = url().parse().expect("a URL");
        let host = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            _ => "127.0.0.1".into(),
        };
        let server = format!("{host}:{}", config.get_ports().first().copied().unwrap_or(5432));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (armed, deliver) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(true)));
        let (a, d) = (armed.clone(), deliver.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if let Ok(upstream) = TcpStream::connect(&server).await {
                    tokio::spawn(pipe(client, upstream, a.clone(), d.clone()));
                }
            }
        });
        CommitCutter { port, armed, deliver }
    }

    fn url(&self) -> String {
        let config: tokio_postgres::Config = url().parse().expect("a URL");
        let user = config.get_user().unwrap_or("postgres");
        let password = String::from_utf8_lossy(config.get_password().unwrap_or(b"")).into_owned();
        let dbname = config.get_dbname().unwrap_or("postgres");
        format!("postgres://{user}:{password}@127.0.0.1:{}/{dbname}", self.port)
    }

    fn arm(&self, deliver: bool) {
        self.deliver.store(deliver, Ordering::SeqCst);
        self.armed.store(true, Ordering::SeqCst);
    }
}

async fn pipe(client: TcpStream, upstream: TcpStream, armed: Arc<AtomicBool>, deliver: Arc<AtomicBool>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = upstream.into_split();
    let (cut, mut cut_seen) = tokio::sync::watch::channel(false);
    let down = tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            tokio::select! {
                n = server_read.read(&mut buf) => match n {
                    Ok(n) if n > 0 => if client_write.write_all(&buf[..n]).await.is_err() { break },
                    _ => break,
                },
                _ = cut_seen.changed() => break,
            }
        }
    });
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match client_read.read(&mut buf).await {
            Ok(n) if n > 0 => n,
            _ => break,
        };
        let commit = buf[..n].windows(7).any(|w| w == b"COMMIT\0") && armed.swap(false, Ordering::SeqCst);
        if commit {
            // Nothing the server answers reaches the client any more.
            let _ = cut.send(true);
            if deliver.load(Ordering::SeqCst) {
                let _ = server_write.write_all(&buf[..n]).await;
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            }
            break;
        }
        if server_write.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = down.await;
}

#[tokio::test]
async fn an_in_doubt_commit_is_resolved_from_the_offsets_table() {
    let proxy = CommitCutter::start().await;
    let topic = unique("indoubt");
    let offsets_table = unique("offsets");
    let url = proxy.url();
    let settings = [
        ("connection.url", url.as_str()),
        ("auto.create", "true"),
        ("offsets.storage.table", offsets_table.as_str()),
        ("name", "in-doubt-sink"),
    ];
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut task = task(&ctx, &settings).await;
    let p0 = TopicPartition::new(&topic, 0);
    task.open(std::slice::from_ref(&p0)).await.expect("open");
    write(&mut task, (0..3).map(|i| record(&topic, i, no_key(), user(i, "x"))).collect()).await.expect("put");
    let client = db().await;
    let count = || async { rows(&client, &format!("SELECT count(*)::text FROM \"{topic}\"")).await };

    // The connection is lost after the server got the COMMIT: it happened, the task cannot know.
    proxy.arm(true);
    task.put(&(3..6).map(|i| record(&topic, i, no_key(), user(i, "x"))).collect::<Vec<_>>()).await.expect("buffered");
    let offsets = TopicPartitionOffsets::from([(p0.clone(), 6)]);
    let err = task.pre_commit(&offsets).await.expect_err("connection lost while committing");
    assert!(err.is_retriable(), "{err:?}");
    // The server got the COMMIT; on a loaded machine it may finish it a little later.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while count().await != strs(&[&[Some("6")]]) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(count().await, strs(&[&[Some("6")]]), "the commit happened");
    assert_eq!(task.pre_commit(&offsets).await.expect("retried"), offsets);
    assert_eq!(count().await, strs(&[&[Some("6")]]), "rows of the committed transaction not written again");

    // Lost before the server got the COMMIT: nothing happened, the retry writes it all.
    proxy.arm(false);
    task.put(&(6..9).map(|i| record(&topic, i, no_key(), user(i, "x"))).collect::<Vec<_>>()).await.expect("buffered");
    let offsets = TopicPartitionOffsets::from([(p0.clone(), 9)]);
    let err = task.pre_commit(&offsets).await.expect_err("connection lost before committing");
    assert!(err.is_retriable(), "{err:?}");
    assert_eq!(count().await, strs(&[&[Some("6")]]), "rolled back");
    assert_eq!(task.pre_commit(&offsets).await.expect("retried"), offsets);
    let ids = rows(&client, &format!("SELECT string_agg(id::text, ',' ORDER BY id) FROM \"{topic}\"")).await;
    assert_eq!(ids, strs(&[&[Some("0,1,2,3,4,5,6,7,8")]]), "each record exactly once");
    assert_eq!(stored_offset(&client, &offsets_table, "in-doubt-sink").await, strs(&[&[Some("9")]]));
}
