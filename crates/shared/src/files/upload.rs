//! An upload in progress: bytes go to a staging file as they arrive, the
//! sha256 is computed on the way, the size limit is enforced per chunk and
//! the bytes count toward the store's quota as they are written. Dropping
//! an unfinished upload (error, limit, broken connection) removes its
//! staging file and gives its bytes back, so nothing partial is left
//! behind. Blocking: async callers write from a blocking thread (see
//! [`super::incoming`]).

use super::quota::Reserved;
use super::store::StoreError;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// A staging file that removes itself unless it was taken.
#[derive(Debug)]
pub(crate) struct TempPath(Option<PathBuf>);

impl TempPath {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self(Some(path))
    }

    pub(crate) fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }

    /// Hands the path over: the caller now owns the file.
    pub(crate) fn keep(mut self) -> PathBuf {
        self.0.take().unwrap_or_default()
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// An upload being written.
#[derive(Debug)]
pub struct Upload {
    /// Created by the first write.
    out: Option<BufWriter<File>>,
    temp: TempPath,
    reserved: Reserved,
    hasher: Sha256,
    size: u64,
    limit: u64,
    fsync: bool,
    /// Threads that wrote (tests check they are not the reactor's).
    #[cfg(test)]
    pub(crate) threads: Vec<std::thread::ThreadId>,
}

/// A complete, durable upload waiting to be committed to the store.
#[derive(Debug)]
pub struct Staged {
    pub(crate) temp: TempPath,
    /// Its bytes, counted toward the quota until committed.
    pub(crate) reserved: Reserved,
    /// Size in bytes.
    pub size: u64,
    /// Lower-case hex sha256.
    pub sha256: String,
}

impl Upload {
    pub(crate) fn new(temp: TempPath, limit: u64, fsync: bool, reserved: Reserved) -> Self {
        Self {
            out: None,
            temp,
            reserved,
            hasher: Sha256::new(),
            size: 0,
            limit,
            fsync,
            #[cfg(test)]
            threads: Vec::new(),
        }
    }

    /// The staging file's writer, taken out (created if need be).
    fn take_out(&mut self) -> std::io::Result<BufWriter<File>> {
        match self.out.take() {
            Some(out) => Ok(out),
            None => Ok(BufWriter::with_capacity(
                super::IO_BUFFER,
                File::create_new(self.temp.path())?,
            )),
        }
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a chunk; past the per-file limit the upload is refused, and
    /// so it is when uploads in progress alone would pass the quota
    /// (older files may be evicted to make room for it).
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        let size = self.size + chunk.len() as u64;
        if size > self.limit {
            return Err(StoreError::TooLarge { limit: self.limit });
        }
        if chunk.is_empty() {
            return Ok(());
        }
        #[cfg(test)]
        if !self.threads.contains(&std::thread::current().id()) {
            self.threads.push(std::thread::current().id());
        }
        self.reserved.grow(chunk.len() as u64)?;
        self.hasher.update(chunk);
        let out = self.take_out()?;
        self.out.insert(out).write_all(chunk)?;
        self.size = size;
        Ok(())
    }

    /// Flushes and (unless the store was opened without fsync) syncs the
    /// staging file: after this its bytes are on disk.
    pub fn finish(mut self) -> Result<Staged, StoreError> {
        let out = self.take_out()?;
        let Self {
            temp,
            reserved,
            hasher,
            size,
            fsync,
            ..
        } = self;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        if fsync {
            file.sync_all()?;
        }
        Ok(Staged {
            temp,
            reserved,
            size,
            sha256: crate::hex::hex(&hasher.finalize()),
        })
    }
}

/// A writer that hashes and counts what passes through it.
pub(crate) struct HashingWriter<W> {
    pub(crate) inner: W,
    pub(crate) hasher: Sha256,
    pub(crate) size: u64,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
