//! Sample customers (deterministic from a seed) and live changes to them.
//!
//! A customer has strings, ints, a bool, a Decimal128 balance, dates, a nested address document
//! (with a nested `geo`), an array of tags and an array of order sub-documents (Decimal128 prices,
//! dates). Every field keeps one BSON type across documents, so each maps to one column type.

use std::time::{Duration, Instant};

use aqueduct_connector_mongodb::mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Decimal128, Document};
use aqueduct_connector_mongodb::mongodb::Collection;
use futures::TryStreamExt;

/// A small deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` and `stream` (different streams never share a sequence start).
    pub fn new(seed: u64, stream: u64) -> Rng {
        Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const CITIES: &[&str] = &["Lisbon", "Porto", "Lyon", "Ghent", "Turin", "Leeds", "Malmö", "Kraków", "Zürich", "Gdańsk"];
const STREETS: &[&str] = &["Main St", "Rua Augusta", "Quai Saint-Antoine", "Veldstraat", "Via Roma", "Briggate"];
const TAGS: &[&str] = &["new", "returning", "newsletter", "b2b", "mobile", "gift", "eu", "late-payer"];
const SKUS: &[&str] = &["SKU-100", "SKU-200", "SKU-300", "SKU-400", "SKU-500"];

/// The `_id` of sample customer `i` of `seed` (a fixed ObjectId: 4 bytes of the seed, 8 of `i`).
pub fn customer_id(seed: u64, i: u64) -> ObjectId {
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&(seed as u32).to_be_bytes());
    bytes[4..].copy_from_slice(&i.to_be_bytes());
    ObjectId::from_bytes(bytes)
}

fn money(rng: &mut Rng, max_cents: u64) -> Bson {
    let cents = rng.below(max_cents);
    let text = format!("{}.{:02}", cents / 100, cents % 100);
    text.parse::<Decimal128>().map(Bson::Decimal128).unwrap_or(Bson::String(text))
}

fn date(rng: &mut Rng) -> DateTime {
    // 2015-01-01 .. 2025-01-01, millisecond precision.
    DateTime::from_millis(1_420_070_400_000 + rng.below(315_532_800_000) as i64)
}

/// Sample customer `i` of `seed`: always the same document for the same pair.
pub fn customer(seed: u64, i: u64) -> Document {
    let mut rng = Rng::new(seed, i);
    let tags: Vec<Bson> = (0..rng.below(4)).map(|_| Bson::String(rng.pick(TAGS).into())).collect();
    let orders: Vec<Bson> = (0..rng.below(4))
        .map(|n| {
            Bson::Document(doc! {
                "sku": rng.pick(SKUS), "qty": 1 + rng.below(9) as i32, "price": money(&mut rng, 50_000),
                "at": date(&mut rng), "line": n as i32,
            })
        })
        .collect();
    let city = rng.pick(CITIES);
    doc! {
        "_id": customer_id(seed, i),
        "name": format!("Customer {i}"),
        "email": format!("customer{i}@example.com"),
        "age": 18 + rng.below(70) as i32,
        "vip": rng.below(5) == 0,
        "balance": money(&mut rng, 10_000_000),
        "visits": rng.below(1 << 40) as i64,
        "signed_up": date(&mut rng),
        "address": {
            "street": format!("{} {}", 1 + rng.below(300), rng.pick(STREETS)),
            "city": city,
            "zip": format!("{:05}", rng.below(100_000)),
            "geo": {"lat": (rng.below(1_800_000) as f64) / 10_000.0 - 90.0, "lon": (rng.below(3_600_000) as f64) / 10_000.0 - 180.0},
        },
        "tags": tags,
        "orders": orders,
    }
}

/// Inserts customers `0..n` of `seed` in batches of 1,000, `parallel` batches at a time;
/// `progress` is called with the count inserted so far.
pub async fn load(
    coll: &Collection<Document>,
    seed: u64,
    n: u64,
    parallel: usize,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<()> {
    const BATCH: u64 = 1_000;
    let batches = n.div_ceil(BATCH);
    let mut done = 0;
    let mut stream = futures::stream::iter((0..batches).map(|b| {
        let docs: Vec<Document> = (b * BATCH..((b + 1) * BATCH).min(n)).map(|i| customer(seed, i)).collect();
        let len = docs.len() as u64;
        async move { coll.insert_many(docs).await.map(|_| len) }
    }))
    .buffer_unordered(parallel.max(1));
    while let Some(len) = stream.try_next().await? {
        done += len;
        progress(done);
    }
    Ok(())
}

use futures::StreamExt;

/// What [`apply_changes`] did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Changes {
    /// New customers.
    pub inserts: u64,
    /// `$set` of top-level fields.
    pub sets: u64,
    /// `$set`/`$push` of nested fields (address, geo, tags, orders).
    pub nested_sets: u64,
    /// `$unset` (top-level and nested).
    pub unsets: u64,
    /// Deleted customers.
    pub deletes: u64,
}

impl Changes {
    /// All changes.
    pub fn total(&self) -> u64 {
        self.inserts + self.sets + self.nested_sets + self.unsets + self.deletes
    }
}

impl std::fmt::Display for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} changes: {} inserts, {} $set, {} nested $set/$push, {} $unset, {} deletes",
            self.total(),
            self.inserts,
            self.sets,
            self.nested_sets,
            self.unsets,
            self.deletes
        )
    }
}

/// Applies `m` changes, chosen by `seed` and `round` (a later round makes different inserts),
/// to the documents in the collection now, `parallel` at a time, at most `rate` per second
/// (0: as fast as the server goes). Targets are distinct live documents, so each change is
/// effective: 30% inserts, 25% top-level `$set`, 20% nested `$set`/`$push`, 10% `$unset`, 15% deletes.
pub async fn apply_changes(
    coll: &Collection<Document>,
    seed: u64,
    round: u64,
    m: u64,
    parallel: usize,
    rate: u64,
) -> anyhow::Result<Changes> {
    let docs: Vec<Document> = coll.find(doc! {}).projection(doc! {"_id": 1}).await?.try_collect().await?;
    let mut live: Vec<ObjectId> = docs.iter().filter_map(|d| d.get_object_id("_id").ok()).collect();
    let mut rng = Rng::new(seed, 0xC4A4_6E00 + round);
    let mut counts = Changes::default();
    let mut ops = Vec::with_capacity(m as usize);
    for k in 0..m {
        let roll = rng.below(100);
        if roll < 30 || live.is_empty() {
            counts.inserts += 1;
            // Inserted customers live far above the loaded range: index 2^40 * (round + 1) + k.
            let i = (1u64 << 40) * (round + 1) + k;
            ops.push(Op::Insert(customer(seed, i)));
            continue;
        }
        // Each target once: the document leaves `live` when picked.
        let id = live.swap_remove(rng.below(live.len() as u64) as usize);
        let filter = doc! {"_id": id};
        let op = if roll < 55 {
            counts.sets += 1;
            let update = match rng.below(4) {
                0 => doc! {"$set": {"age": 18 + rng.below(70) as i32, "name": format!("Renamed {k}")}},
                1 => doc! {"$set": {"balance": money(&mut rng, 10_000_000)}},
                2 => doc! {"$set": {"vip": rng.below(2) == 0}, "$inc": {"visits": 1i64}},
                _ => doc! {"$set": {"signed_up": date(&mut rng), "email": format!("changed{k}@example.org")}},
            };
            Op::Update(filter, update)
        } else if roll < 75 {
            counts.nested_sets += 1;
            let update = match rng.below(3) {
                0 => doc! {"$set": {"address.city": rng.pick(CITIES), "address.geo.lat": rng.below(900) as f64 / 10.0}},
                1 => doc! {"$push": {"tags": rng.pick(TAGS)}},
                _ => {
                    doc! {"$push": {"orders": {"sku": rng.pick(SKUS), "qty": 1i32, "price": money(&mut rng, 9_999), "at": date(&mut rng), "line": 99i32}}}
                }
            };
            Op::Update(filter, update)
        } else if roll < 85 {
            counts.unsets += 1;
            let update = match rng.below(3) {
                0 => doc! {"$unset": {"vip": ""}},
                1 => doc! {"$unset": {"balance": "", "tags": ""}},
                _ => doc! {"$unset": {"address.zip": ""}},
            };
            Op::Update(filter, update)
        } else {
            counts.deletes += 1;
            Op::Delete(filter)
        };
        ops.push(op);
    }
    let started = Instant::now();
    let mut stream = futures::stream::iter(ops.into_iter().enumerate().map(|(n, op)| {
        let coll = coll.clone();
        async move {
            if rate > 0 {
                // Paced: change n goes out no earlier than n/rate seconds after the start.
                let due = started + Duration::from_secs_f64(n as f64 / rate as f64);
                tokio::time::sleep_until(due.into()).await;
            }
            op.apply(&coll).await
        }
    }))
    .buffer_unordered(parallel.max(1));
    while stream.try_next().await?.is_some() {}
    Ok(counts)
}

enum Op {
    Insert(Document),
    Update(Document, Document),
    Delete(Document),
}

impl Op {
    async fn apply(self, coll: &Collection<Document>) -> anyhow::Result<()> {
        match self {
            Op::Insert(d) => coll.insert_one(d).await.map(|_| ())?,
            Op::Update(f, u) => coll.update_one(f, u).await.map(|_| ())?,
            Op::Delete(f) => coll.delete_one(f).await.map(|_| ())?,
        }
        Ok(())
    }
}
