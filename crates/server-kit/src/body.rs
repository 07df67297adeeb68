//! The response body: a complete buffer or a stream of chunks.

use bytes::Bytes;
use futures_util::Stream;
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Error type of streamed bodies.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

type ChunkStream = Pin<Box<dyn Stream<Item = Result<Bytes, BodyError>> + Send>>;

/// A response body. `Full` bodies and streams of known length get a
/// `Content-Length`; other streams are sent with chunked transfer encoding,
/// one chunk per stream item.
pub enum Body {
    /// The whole body at once (taken when sent).
    Full(Option<Bytes>),
    /// Chunks produced as the client reads, and their total length if known.
    Stream(ChunkStream, Option<u64>),
}

impl Body {
    /// A body of these bytes.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        Self::Full(Some(bytes.into()))
    }

    /// A streamed body: each item becomes one chunk.
    pub fn stream<S>(stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, BodyError>> + Send + 'static,
    {
        Self::Stream(Box::pin(stream), None)
    }

    /// A streamed body of exactly `len` bytes, sent with `Content-Length`.
    pub fn sized_stream<S>(stream: S, len: u64) -> Self
    where
        S: Stream<Item = Result<Bytes, BodyError>> + Send + 'static,
    {
        Self::Stream(Box::pin(stream), Some(len))
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match self.get_mut() {
            Self::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Self::Stream(stream, _) => stream
                .as_mut()
                .poll_next(cx)
                .map(|item| item.map(|r| r.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Self::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Self::Full(None) => SizeHint::with_exact(0),
            Self::Stream(_, Some(len)) => SizeHint::with_exact(*len),
            Self::Stream(_, None) => SizeHint::default(),
        }
    }
}
