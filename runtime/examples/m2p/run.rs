//! `m2p run`: the quickstart's watch over a running worker — progress of the copy, then live
//! changes, then the wait until the table equals the collection, then the figures.

use std::time::{Duration, Instant};

use clap::Args;

use crate::m2p;

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    target: crate::Target,
    /// Documents loaded (the copy is complete when the table has this many rows).
    #[arg(long, default_value_t = 50_000)]
    docs: u64,
    /// Live changes applied once the copy is complete.
    #[arg(long, default_value_t = 10_000)]
    changes: u64,
    /// Seed of the changes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The worker's process id: its exit is a failure.
    #[arg(long)]
    pid: Option<u32>,
    /// Seconds before giving up.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
}

/// Whether process `pid` runs (not gone, not a zombie waiting for its parent).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').map(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])).unwrap_or(false),
        Err(_) => false,
    }
}

struct Watch {
    pid: Option<u32>,
    deadline: Instant,
}

impl Watch {
    fn check(&self, what: &str) -> anyhow::Result<()> {
        if let Some(pid) = self.pid.filter(|p| !alive(*p)) {
            anyhow::bail!("the worker (pid {pid}) exited while waiting for {what}");
        }
        if Instant::now() > self.deadline {
            anyhow::bail!("timed out waiting for {what}");
        }
        Ok(())
    }
}

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let target = &args.target;
    let coll = crate::collection(target).await?;
    let pg = m2p::pg_connect(&m2p::postgres_url()).await?;
    let watch = Watch { pid: args.pid, deadline: Instant::now() + Duration::from_secs(args.timeout) };
    let started = Instant::now();

    // 1. The copy of the existing documents, with progress every 3 s.
    let mut last = (Instant::now(), 0i64);
    let copied_at = loop {
        let rows = m2p::pg_count(&pg, &target.table).await?;
        if rows >= args.docs as i64 {
            break started.elapsed();
        }
        if last.0.elapsed() >= Duration::from_secs(3) {
            let rate = (rows - last.1) as f64 / last.0.elapsed().as_secs_f64();
            println!(
                "  {:>5.1} s  rows copied {rows}/{} ({:.0}%), {rate:.0} rows/s",
                started.elapsed().as_secs_f64(),
                args.docs,
                100.0 * rows as f64 / args.docs.max(1) as f64
            );
            last = (Instant::now(), rows);
        }
        watch.check("the copy")?;
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let copy_secs = copied_at.as_secs_f64();
    println!("copy: {} documents in {copy_secs:.1} s ({:.0} documents/s)", args.docs, args.docs as f64 / copy_secs);

    // 2. Live changes while the worker streams.
    let t = Instant::now();
    let changes = m2p::data::apply_changes(&coll, args.seed, 0, args.changes, 8, 0).await?;
    println!("applied {changes} in {:.1} s", t.elapsed().as_secs_f64());

    // 3. Until the table equals the collection (count first, then every row's checksum).
    let report = loop {
        let documents = coll.estimated_document_count().await? as i64;
        if m2p::pg_count(&pg, &target.table).await? == documents {
            let report = m2p::compare::compare(&coll, &pg, &target.table).await?;
            if report.equal() {
                break report;
            }
            if watch.check("the table to equal the collection").is_err() {
                anyhow::bail!("the table never equalled the collection: {report}");
            }
        }
        watch.check("the table to equal the collection")?;
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let secs = started.elapsed().as_secs_f64();
    let streamed = secs - copy_secs;
    println!("the table equals the collection: {report}");
    println!();
    println!("documents loaded:     {}", args.docs);
    println!("live changes:         {}", changes.total());
    println!("documents now:        {}", report.documents);
    println!("rows in {}: {}", target.table, report.rows);
    println!("seconds:              {secs:.1} (copy {copy_secs:.1}, changes until equal {streamed:.1})");
    println!("documents/s (copy):   {:.0}", args.docs as f64 / copy_secs);
    println!("changes/s (stream):   {:.0}", changes.total() as f64 / streamed);
    if let Some(row) = m2p::compare::sample_row(&pg, &target.table).await? {
        println!("sample row:           {row}");
    }
    Ok(())
}
