//! The S3 calls the connectors make, over `aws-sdk-s3`, with errors sorted into retriable
//! (the server is away or busy: try again later) and fatal (no bucket, no access).

use std::time::Duration;

use aqueduct_sdk::{ConnectError, Result};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;

use super::config::{StorageConfig, BUCKET};

/// A bucket, reached as the configuration says.
#[derive(Clone)]
pub struct Store {
    client: Client,
    bucket: String,
}

/// One page-merged listing under a prefix.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Listing {
    /// Object keys, in S3's (lexicographic) order.
    pub objects: Vec<String>,
    /// Common prefixes ("folders") when listing with a delimiter.
    pub prefixes: Vec<String>,
}

impl Store {
    /// A client for the configured bucket; makes no request.
    pub async fn new(config: &StorageConfig) -> Store {
        let retry = RetryConfig::standard()
            .with_max_attempts(config.attempts.max(1))
            .with_initial_backoff(Duration::from_millis(config.retry_backoff_ms.max(1)))
            .with_max_backoff(Duration::from_secs(20));
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(10))
            .operation_attempt_timeout(Duration::from_secs(120))
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .retry_config(retry)
            .timeout_config(timeouts);
        if let Some((id, secret)) = &config.credentials {
            loader = loader.credentials_provider(Credentials::new(id, secret, None, None, "aqueduct-config"));
        }
        let shared = loader.load().await;
        let mut builder = aws_sdk_s3::config::Builder::from(&shared).force_path_style(config.path_style);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        Store { client: Client::from_conf(builder.build()), bucket: config.bucket.clone() }
    }

    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Checks the bucket exists and is reachable: a missing bucket or refused access is fatal.
    pub async fn check_bucket(&self) -> Result<()> {
        self.client.head_bucket().bucket(&self.bucket).send().await.map_err(|e| self.error("HeadBucket", "", e))?;
        Ok(())
    }

    /// Writes a whole object.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| self.error("PutObject", key, e))?;
        Ok(())
    }

    /// Whether an object exists.
    pub async fn exists(&self, key: &str) -> Result<bool> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_not_found() => Ok(false),
            Err(e) => Err(self.error("HeadObject", key, e)),
        }
    }

    /// Starts a multipart upload; returns its id.
    pub async fn create_multipart(&self, key: &str) -> Result<String> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.error("CreateMultipartUpload", key, e))?;
        out.upload_id.ok_or_else(|| ConnectError::retriable(format!("CreateMultipartUpload {key}: no upload id")))
    }

    /// Uploads part `number` (from 1); returns its ETag.
    pub async fn upload_part(&self, key: &str, upload_id: &str, number: i32, bytes: Vec<u8>) -> Result<String> {
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| self.error("UploadPart", key, e))?;
        Ok(out.e_tag.unwrap_or_default())
    }

    /// Completes a multipart upload from `(part number, ETag)` pairs: the object appears.
    pub async fn complete_multipart(&self, key: &str, upload_id: &str, parts: &[(i32, String)]) -> Result<()> {
        let parts =
            parts.iter().map(|(n, etag)| CompletedPart::builder().part_number(*n).e_tag(etag).build()).collect();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map_err(|e| self.error("CompleteMultipartUpload", key, e))?;
        Ok(())
    }

    /// Abandons a multipart upload (best effort: the parts are garbage either way).
    pub async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<()> {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
            .map_err(|e| self.error("AbortMultipartUpload", key, e))?;
        Ok(())
    }

    /// Every object (and, with a delimiter, every common prefix) under `prefix`, after
    /// `start_after` when given, over all pages.
    pub async fn list(&self, prefix: &str, delimiter: Option<&str>, start_after: Option<&str>) -> Result<Listing> {
        let mut listing = Listing::default();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_delimiter(delimiter.map(str::to_owned))
                .set_start_after(start_after.map(str::to_owned))
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| self.error("ListObjectsV2", prefix, e))?;
            listing.objects.extend(out.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
            listing.prefixes.extend(out.common_prefixes().iter().filter_map(|p| p.prefix().map(str::to_owned)));
            match out.next_continuation_token {
                Some(next) if out.is_truncated == Some(true) => token = Some(next),
                _ => return Ok(listing),
            }
        }
    }

    /// An object's bytes.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.error("GetObject", key, e))?;
        let body = out.body.collect().await.map_err(|e| {
            ConnectError::retriable(format!("GetObject s3://{}/{key}: reading the body failed: {e}", self.bucket))
        })?;
        Ok(body.into_bytes().to_vec())
    }

    fn error<E>(&self, operation: &str, key: &str, error: SdkError<E, HttpResponse>) -> ConnectError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let at = format!("s3://{}/{key}", self.bucket);
        let (status, code) = match &error {
            SdkError::ServiceError(service) => {
                (Some(service.raw().status().as_u16()), service.err().code().map(str::to_owned))
            }
            _ => (None, None),
        };
        let detail = match &error {
            SdkError::ServiceError(service) => {
                let e = service.err();
                format!("{} {}", e.code().unwrap_or("error"), e.message().unwrap_or_default())
            }
            other => format!("{}", aws_sdk_s3::error::DisplayErrorContext(other)),
        };
        let message = format!("{operation} {at} failed: {}", detail.trim());
        match (status, code.as_deref()) {
            (_, Some("NoSuchBucket")) | (Some(404), _)
                if code.as_deref() == Some("NoSuchBucket") || operation == "HeadBucket" =>
            {
                ConnectError::fatal(format!(
                    "{message}: bucket '{}' does not exist; create it or fix {BUCKET}",
                    self.bucket
                ))
            }
            (Some(401 | 403), _) | (_, Some("AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch")) => {
                ConnectError::fatal(format!("{message}: access refused; check the credentials and the bucket policy"))
            }
            (Some(400..=499), _) if status != Some(408) && status != Some(429) => ConnectError::fatal(message),
            _ => ConnectError::retriable(message),
        }
    }
}
