//! One object being written: its bytes buffer until `s3.part.size`, then go up as parts of a
//! multipart upload; the object appears only when [`Upload::complete`] succeeds.
//!
//! Every step is safe to repeat after a failure: bytes leave the buffer only once their part
//! was acknowledged, so a retried call picks up where the failed one stopped.

use aqueduct_sdk::Result;

use super::Store;

/// S3's smallest part (but the last).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// An object under construction.
#[derive(Debug)]
pub struct Upload {
    key: String,
    part_size: usize,
    buffer: Vec<u8>,
    multipart: Option<Multipart>,
}

#[derive(Debug)]
struct Multipart {
    id: String,
    parts: Vec<(i32, String)>,
}

impl Upload {
    /// An empty object `key`, uploaded in parts of `part_size` bytes once it outgrows one.
    pub fn new(key: String, part_size: usize) -> Upload {
        Upload { key, part_size: part_size.max(MIN_PART_SIZE), buffer: Vec::new(), multipart: None }
    }

    /// The object's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Where encoded bytes go.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.buffer
    }

    /// Bytes not uploaded yet.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Uploads every full part waiting in the buffer.
    pub async fn send_parts(&mut self, store: &Store) -> Result<()> {
        while self.buffer.len() >= self.part_size {
            self.send_part(store, self.part_size).await?;
        }
        Ok(())
    }

    async fn send_part(&mut self, store: &Store, len: usize) -> Result<()> {
        if self.multipart.is_none() {
            let id = store.create_multipart(&self.key).await?;
            self.multipart = Some(Multipart { id, parts: Vec::new() });
        }
        let Some(multipart) = self.multipart.as_mut() else { return Ok(()) };
        let number = multipart.parts.len() as i32 + 1;
        let etag = store.upload_part(&self.key, &multipart.id, number, self.buffer[..len].to_vec()).await?;
        multipart.parts.push((number, etag));
        self.buffer.drain(..len);
        Ok(())
    }

    /// Makes the object exist with every byte written: one PutObject for a small object, else
    /// the last part and CompleteMultipartUpload.
    pub async fn complete(&mut self, store: &Store) -> Result<()> {
        self.send_parts(store).await?;
        match &self.multipart {
            None => store.put(&self.key, self.buffer.clone()).await,
            Some(_) => {
                if !self.buffer.is_empty() {
                    self.send_part(store, self.buffer.len()).await?;
                }
                let Some(multipart) = &self.multipart else { return Ok(()) };
                match store.complete_multipart(&self.key, &multipart.id, &multipart.parts).await {
                    // A completion whose answer was lost: the upload is gone, the object is there.
                    Err(e) if !e.is_retriable() && store.exists(&self.key).await? => Ok(()),
                    other => other,
                }
            }
        }
    }

    /// Drops the object: an upload in progress is aborted (best effort).
    pub async fn abort(self, store: &Store) {
        if let Some(multipart) = self.multipart {
            if let Err(e) = store.abort_multipart(&self.key, &multipart.id).await {
                tracing::warn!(key = %self.key, error = %e, "aborting a multipart upload failed; the bucket's lifecycle rules remove it");
            }
        }
    }
}
