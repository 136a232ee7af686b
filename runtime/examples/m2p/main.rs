//! `m2p`: the Mongo -> Postgres job's tool (sample data, live changes, table = collection check,
//! benchmark). `scripts/quickstart.sh` drives it; the acceptance test uses the same code
//! (`tests/m2p/`).
//!
//!     cargo run --release -p aqueduct --example m2p -- load --docs 50000
//!     cargo run --release -p aqueduct --example m2p -- run --docs 50000 --changes 10000 --pid PID
//!     cargo run --release -p aqueduct --example m2p -- compare
//!     cargo run --release -p aqueduct --example m2p -- bench --docs 50000

#[path = "../../../tests/m2p/mod.rs"]
mod m2p;

mod bench;
mod run;

use aqueduct_connector_mongodb::mongodb::bson::Document;
use aqueduct_connector_mongodb::mongodb::{Client, Collection};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(about = "The Mongo -> Postgres job's sample data, live changes and checks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the pipeline reads and writes.
#[derive(Args, Clone)]
struct Target {
    /// MongoDB database.
    #[arg(long, default_value = "shop")]
    db: String,
    /// MongoDB collection.
    #[arg(long, default_value = "customers")]
    collection: String,
    /// Postgres table the sink writes.
    #[arg(long, default_value = "public.customers")]
    table: String,
}

#[derive(Subcommand)]
enum Command {
    /// Drops the collection and the table, then loads sample customers.
    Load {
        #[command(flatten)]
        target: Target,
        /// Documents to load.
        #[arg(long, default_value_t = 50_000)]
        docs: u64,
        /// Seed of the sample data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Applies live changes (inserts, $set, nested $set/$push, $unset, deletes).
    Changes {
        #[command(flatten)]
        target: Target,
        /// Changes to apply.
        #[arg(long, default_value_t = 10_000)]
        count: u64,
        /// Seed of the changes.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Round (a later round inserts other documents).
        #[arg(long, default_value_t = 0)]
        round: u64,
    },
    /// While a worker (`--pid`) runs: prints progress, applies the changes once the copy is under
    /// way, waits until the table equals the collection and prints what was done.
    Run(run::RunArgs),
    /// Compares the table with the collection once; exits 1 when they differ.
    Compare {
        #[command(flatten)]
        target: Target,
    },
    /// Benchmark: documents/s of the pipeline in both transports and of a bare copy.
    Bench(bench::BenchArgs),
}

async fn collection(target: &Target) -> anyhow::Result<Collection<Document>> {
    let client = Client::with_uri_str(m2p::mongodb_uri()).await?;
    Ok(client.database(&target.db).collection(&target.collection))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Load { target, docs, seed } => {
            let coll = collection(&target).await?;
            let pg = m2p::pg_connect(&m2p::postgres_url()).await?;
            coll.drop().await?;
            m2p::pg_drop(&pg, &target.table).await?;
            let started = std::time::Instant::now();
            let mut last = std::time::Instant::now();
            m2p::data::load(&coll, seed, docs, 4, |n| {
                if last.elapsed().as_secs() >= 3 || n == docs {
                    last = std::time::Instant::now();
                    println!("  loaded {n}/{docs} documents");
                }
            })
            .await?;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "loaded {docs} customers into {}.{} in {secs:.1} s ({:.0} documents/s)",
                target.db,
                target.collection,
                docs as f64 / secs
            );
        }
        Command::Changes { target, count, seed, round } => {
            let coll = collection(&target).await?;
            let changes = m2p::data::apply_changes(&coll, seed, round, count, 8, 0).await?;
            println!("applied {changes}");
        }
        Command::Run(args) => run::run(args).await?,
        Command::Compare { target } => {
            let coll = collection(&target).await?;
            let pg = m2p::pg_connect(&m2p::postgres_url()).await?;
            let report = m2p::compare::compare(&coll, &pg, &target.table).await?;
            println!("{report}");
            if !report.equal() {
                std::process::exit(1);
            }
        }
        Command::Bench(args) => bench::bench(args).await?,
    }
    Ok(())
}
