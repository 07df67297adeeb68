//! A file part as it arrives, kept off the reactor's threads: a small part
//! is held in memory (up to a room the request gives it, at most
//! [`super::IO_BUFFER`] per request) and written by the commit's blocking
//! job, with no hand-off of its own; past that, a blocking thread writes
//! and hashes the chunks as they come, at most [`QUEUED_CHUNKS`] of them
//! waiting for it (the reader waits beyond).

use super::{StoreError, Upload};
use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Chunks waiting for the writer thread, at most.
pub const QUEUED_CHUNKS: usize = 4;

/// A file part being received.
pub(crate) struct Incoming {
    /// The upload, until a writer takes it.
    upload: Option<Upload>,
    head: BytesMut,
    /// Most bytes held in `head`.
    room: usize,
    writer: Option<Writer>,
}

/// The blocking thread writing a part.
struct Writer {
    chunks: mpsc::Sender<Bytes>,
    task: JoinHandle<Result<Upload, StoreError>>,
}

fn lost(e: tokio::task::JoinError) -> StoreError {
    StoreError::Io(std::io::Error::other(format!("upload writer failed: {e}")))
}

impl Incoming {
    /// A part that may hold up to `room` bytes in memory.
    pub(crate) fn new(upload: Upload, room: usize) -> Self {
        Self {
            upload: Some(upload),
            head: BytesMut::new(),
            room,
            writer: None,
        }
    }

    /// Takes the next chunk of the part.
    pub(crate) async fn push(&mut self, chunk: Bytes) -> Result<(), StoreError> {
        if let Some(w) = &self.writer {
            if w.chunks.send(chunk).await.is_ok() {
                return Ok(());
            }
            // The writer stopped: its error says why.
            return match self.writer.take() {
                Some(w) => w.task.await.map_err(lost)?.map(drop),
                None => Ok(()),
            };
        }
        if self.head.len() + chunk.len() <= self.room {
            self.head.extend_from_slice(&chunk);
            return Ok(());
        }
        let Some(mut upload) = self.upload.take() else {
            return Ok(());
        };
        let head = self.head.split().freeze();
        let (chunks, mut rx) = mpsc::channel::<Bytes>(QUEUED_CHUNKS);
        let task = tokio::task::spawn_blocking(move || {
            upload.write(&head)?;
            upload.write(&chunk)?;
            while let Some(chunk) = rx.blocking_recv() {
                upload.write(&chunk)?;
            }
            Ok(upload)
        });
        self.writer = Some(Writer { chunks, task });
        Ok(())
    }

    /// The whole part received: the upload and the bytes it has still to
    /// write (a small part's, held in memory).
    pub(crate) async fn end(mut self) -> Result<(Upload, Bytes), StoreError> {
        match (self.writer.take(), self.upload.take()) {
            (Some(Writer { chunks, task }), _) => {
                drop(chunks);
                Ok((task.await.map_err(lost)??, Bytes::new()))
            }
            (None, Some(upload)) => Ok((upload, self.head.freeze())),
            (None, None) => Err(StoreError::Io(std::io::Error::other("upload ended twice"))),
        }
    }

    /// Gives the part up, its staging file removed before this returns.
    pub(crate) async fn abort(mut self) {
        if let Some(Writer { chunks, task }) = self.writer.take() {
            drop(chunks);
            let _ = task.await;
        }
    }
}
