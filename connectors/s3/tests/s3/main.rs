//! Tests of the S3 connectors against a real S3 server (moto, `scripts/services.sh up s3`; the
//! restart test also s3s-fs, `scripts/services.sh up s3fs`).

mod common;
mod formats;
mod outage;
mod sink;
mod source;
