//! `m2p bench`: documents/s of the Mongo -> Postgres copy through the `aqueduct` binary (the
//! configs of `configs/mongo-to-postgres/`, each transport) against a bare program doing the same
//! copy with the same drivers (`tests/m2p/bare.rs`), all in one run over one collection.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Args;

use crate::m2p::{self, pipeline::Pipeline, pipeline::Transport};

#[derive(Args)]
pub struct BenchArgs {
    /// Documents to copy.
    #[arg(long, default_value_t = 50_000)]
    docs: u64,
    /// The `aqueduct` binary (default: beside this example's directory, i.e. target/release).
    #[arg(long)]
    aqueduct: Option<PathBuf>,
    /// Transports to run: embedded, kafka (comma-separated).
    #[arg(long, default_value = "embedded,kafka")]
    transports: String,
    /// Seconds a copy may take.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
}

fn aqueduct_bin(arg: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(p) = arg {
        return Ok(p);
    }
    let exe = std::env::current_exe()?;
    let dir = exe.parent().and_then(|d| d.parent()).ok_or_else(|| anyhow::anyhow!("no directory for {exe:?}"))?;
    Ok(dir.join("aqueduct"))
}

/// Peak resident memory of a process in MB (`VmHWM`), if readable.
fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let bin = aqueduct_bin(args.aqueduct)?;
    anyhow::ensure!(bin.exists(), "{} not found: cargo build --release --bin aqueduct", bin.display());
    let name = format!("m2p_bench_{}", std::process::id());
    let client = aqueduct_connector_mongodb::mongodb::Client::with_uri_str(m2p::mongodb_uri()).await?;
    let coll = client.database(&name).collection("customers");
    let pg = m2p::pg_connect(&m2p::postgres_url()).await?;
    let dir = tempfile::tempdir()?;

    let t = Instant::now();
    m2p::data::load(&coll, 7, args.docs, 4, |_| {}).await?;
    println!("loaded {} documents in {:.1} s", args.docs, t.elapsed().as_secs_f64());

    let bare_table = format!("public.{name}_bare");
    let t = Instant::now();
    let rows = m2p::bare::copy(&coll, &pg, &bare_table).await?;
    let bare = t.elapsed().as_secs_f64();
    anyhow::ensure!(rows == args.docs, "bare copy wrote {rows} rows");
    let mut lines = vec![format!(
        "bare copy (change stream + find + COPY): {bare:6.1} s {:8.0} documents/s",
        args.docs as f64 / bare
    )];
    m2p::pg_drop(&pg, &bare_table).await?;

    for transport in args.transports.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let transport = match transport {
            "embedded" => Transport::Embedded,
            "kafka" => Transport::Kafka,
            other => anyhow::bail!("unknown transport {other}"),
        };
        let mut p = Pipeline::new(&format!("{name}_{}", transport.name()));
        p.db.clone_from(&name);
        let run_dir = dir.path().join(transport.name());
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let cli = p.write(transport, &run_dir, port)?;
        let log = std::fs::File::create(run_dir.join("worker.log"))?;
        let t = Instant::now();
        let mut child =
            Command::new(&bin).args(&cli).env("RUST_LOG", "warn").stdout(Stdio::null()).stderr(log).spawn()?;
        let deadline = t + Duration::from_secs(args.timeout);
        let result = loop {
            if m2p::pg_count(&pg, &p.table).await? >= args.docs as i64 {
                break Ok(t.elapsed().as_secs_f64());
            }
            if let Some(status) = child.try_wait()? {
                break Err(anyhow::anyhow!("aqueduct exited ({status}); log in {}", run_dir.display()));
            }
            if Instant::now() > deadline {
                break Err(anyhow::anyhow!("timed out; log in {}", run_dir.display()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let rss = peak_rss_mb(child.id());
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let _ = child.wait();
        let secs = match result {
            Ok(s) => s,
            Err(e) => {
                let _ = dir.keep();
                return Err(e);
            }
        };
        let report = m2p::compare::compare(&coll, &pg, &p.table).await?;
        anyhow::ensure!(report.equal(), "{} pipeline: {report}", transport.name());
        lines.push(format!(
            "aqueduct, transport={:<8}:               {secs:6.1} s {:8.0} documents/s ({:.2} of bare), peak RSS {}",
            transport.name(),
            args.docs as f64 / secs,
            bare / secs,
            rss.map(|r| format!("{r:.0} MB")).unwrap_or_else(|| "?".into())
        ));
        m2p::pg_drop(&pg, &p.table).await?;
    }
    client.database(&name).drop().await?;
    println!(
        "Mongo -> Postgres copy of {} documents (time from worker start until the table has every row):",
        args.docs
    );
    for l in lines {
        println!("  {l}");
    }
    Ok(())
}
