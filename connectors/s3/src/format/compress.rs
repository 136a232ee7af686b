//! Whole-object gzip for the line formats, streamed: compressed bytes are handed out as they
//! are produced, so a large object can be uploaded in parts.

use std::io::{Read, Write};

use aqueduct_sdk::{ConnectError, Result};
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

/// Where a line format's bytes go: straight out, or through gzip.
pub(super) enum Output {
    /// Bytes appended as they are.
    Plain,
    /// Bytes gzip-compressed; the encoder's buffer is drained into `out` after every write.
    Gzip(GzEncoder<Vec<u8>>),
}

impl Output {
    pub(super) fn new(gzip: bool) -> Output {
        if gzip {
            Output::Gzip(GzEncoder::new(Vec::new(), Compression::default()))
        } else {
            Output::Plain
        }
    }

    pub(super) fn write(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> Result<()> {
        match self {
            Output::Plain => out.extend_from_slice(bytes),
            Output::Gzip(encoder) => {
                encoder.write_all(bytes).map_err(gzip_error)?;
                out.append(encoder.get_mut());
            }
        }
        Ok(())
    }

    pub(super) fn finish(self, out: &mut Vec<u8>) -> Result<()> {
        if let Output::Gzip(encoder) = self {
            out.append(&mut encoder.finish().map_err(gzip_error)?);
        }
        Ok(())
    }
}

fn gzip_error(e: std::io::Error) -> ConnectError {
    ConnectError::fatal(format!("gzip: {e}"))
}

/// The object's bytes, gunzipped when `gzip`.
pub(super) fn decoded(bytes: &[u8], gzip: bool) -> Result<Vec<u8>> {
    if !gzip {
        return Ok(bytes.to_vec());
    }
    let mut plain = Vec::new();
    MultiGzDecoder::new(bytes)
        .read_to_end(&mut plain)
        .map_err(|e| ConnectError::data(format!("object is not valid gzip: {e}")))?;
    Ok(plain)
}
