//! Per-connection deadlines that hyper does not have: an idle keep-alive
//! connection is closed after `--keep-alive-timeout`, and a peer that stops
//! reading is cut after `--write-timeout` without write progress.
//!
//! [`TimedIo`] wraps the accepted socket and watches its reads and writes;
//! [`ConnState`] is shared with the request handling, which says when a
//! request is in flight (from the moment its head is handed over until its
//! response body is finished) so a long handler or a slowly produced body
//! is never mistaken for an idle connection, and where a body-read timeout
//! is reported (see `handle` in `server.rs`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{sleep_until, Instant, Sleep};

/// What the request side tells the connection side (and back).
#[derive(Debug, Default)]
pub(crate) struct ConnState {
    /// Requests whose response body has not been finished yet.
    in_flight: AtomicUsize,
    /// The current request's body read timed out (set by the body, read
    /// and cleared when its response is built).
    body_timed_out: AtomicBool,
    /// Which deadline passed, for the 408's message.
    body_timeout_reason: std::sync::Mutex<String>,
}

impl ConnState {
    /// Marks a request in flight until the guard is dropped.
    pub(crate) fn enter(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }

    fn busy(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) > 0
    }

    /// Records that a request body read timed out, and why.
    pub(crate) fn report_body_timeout(&self, why: &str) {
        if let Ok(mut reason) = self.body_timeout_reason.lock() {
            why.clone_into(&mut reason);
        }
        self.body_timed_out.store(true, Ordering::Release);
    }

    /// Why a body read timed out, if one did since the last call (and
    /// clears it).
    pub(crate) fn take_body_timeout(&self) -> Option<String> {
        if !self.body_timed_out.swap(false, Ordering::AcqRel) {
            return None;
        }
        let reason = self
            .body_timeout_reason
            .lock()
            .map(|mut r| std::mem::take(&mut *r));
        Some(reason.unwrap_or_default())
    }
}

/// A request in flight; dropped with its response body.
pub(crate) struct InFlight(Arc<ConnState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Timer firing this early is taken as firing on time (the wheel counts
/// whole milliseconds).
const SLACK: Duration = Duration::from_millis(1);

/// The accepted socket with the keep-alive idle and write deadlines.
pub(crate) struct TimedIo {
    io: TcpStream,
    state: Arc<ConnState>,
    keep_alive: Duration,
    write_timeout: Duration,
    /// When the connection was last seen active: bytes moved since are
    /// flagged by `moved` and stamped at the next idle check, so moving
    /// bytes never reads the clock.
    last_activity: Instant,
    moved: bool,
    idle_sleep: Option<Pin<Box<Sleep>>>,
    /// Since when a write has been waiting for the peer to read.
    write_blocked_since: Option<Instant>,
    write_sleep: Option<Pin<Box<Sleep>>>,
}

impl TimedIo {
    /// `keep_alive` and `write_timeout` of zero turn that deadline off.
    pub(crate) fn new(
        io: TcpStream,
        state: Arc<ConnState>,
        keep_alive: Duration,
        write_timeout: Duration,
    ) -> Self {
        Self {
            io,
            state,
            keep_alive,
            write_timeout,
            last_activity: Instant::now(),
            moved: false,
            idle_sleep: None,
            write_blocked_since: None,
            write_sleep: None,
        }
    }

    /// A read is waiting: fails once the connection has had no request in
    /// flight and no traffic for the keep-alive timeout, else makes sure a
    /// timer wakes the connection to check again. The timer is armed
    /// lazily (at most one reset per period, none per request): when it
    /// fires the deadline is worked out again from the last activity.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let keep_alive = self.keep_alive;
        if keep_alive.is_zero() {
            return Ok(());
        }
        let now = Instant::now();
        self.stamp(now);
        let busy = self.state.busy();
        let deadline = if busy {
            now + keep_alive
        } else {
            self.last_activity + keep_alive
        };
        if !busy && now + SLACK >= deadline {
            return Err(idle_timeout(keep_alive));
        }
        let sleep = match &mut self.idle_sleep {
            Some(sleep) => {
                if sleep.is_elapsed() || sleep.deadline() > deadline {
                    sleep.as_mut().reset(deadline);
                }
                sleep
            }
            none => none.insert(Box::pin(sleep_until(deadline))),
        };
        while sleep.as_mut().poll(cx).is_ready() {
            let now = Instant::now();
            if std::mem::take(&mut self.moved) {
                self.last_activity = now;
            }
            let next = if self.state.busy() {
                now + keep_alive
            } else {
                let due = self.last_activity + keep_alive;
                if now + SLACK >= due {
                    return Err(idle_timeout(keep_alive));
                }
                due
            };
            sleep.as_mut().reset(next);
        }
        Ok(())
    }

    /// A write is waiting for the peer to read: fails once it has waited
    /// the write timeout, else arms a timer to check again.
    fn poll_write_deadline(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let limit = self.write_timeout;
        if limit.is_zero() {
            return Ok(());
        }
        let now = Instant::now();
        let deadline = *self.write_blocked_since.get_or_insert(now) + limit;
        if now + SLACK >= deadline {
            return Err(write_timeout(limit));
        }
        let sleep = match &mut self.write_sleep {
            Some(sleep) => {
                if sleep.deadline() != deadline {
                    sleep.as_mut().reset(deadline);
                }
                sleep
            }
            none => none.insert(Box::pin(sleep_until(deadline))),
        };
        if sleep.as_mut().poll(cx).is_ready() {
            return Err(write_timeout(limit));
        }
        Ok(())
    }

    /// Bytes moved since the last check count as activity at `now`.
    fn stamp(&mut self, now: Instant) {
        if std::mem::take(&mut self.moved) {
            self.last_activity = now;
        }
    }

    fn wrote(&mut self, n: usize) {
        if n > 0 {
            self.write_blocked_since = None;
            self.moved = true;
        }
    }

    fn write_pending<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        match self.poll_write_deadline(cx) {
            Ok(()) => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

fn idle_timeout(after: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("keep-alive connection idle for {after:?}"),
    )
}

fn write_timeout(after: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("peer read nothing for {after:?}"),
    )
}

impl AsyncRead for TimedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.moved = true;
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.poll_idle(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
        }
    }
}

impl AsyncWrite for TimedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                this.wrote(n);
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.write_pending(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_write_vectored(cx, bufs) {
            Poll::Ready(Ok(n)) => {
                this.wrote(n);
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.write_pending(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_flush(cx) {
            Poll::Pending => this.write_pending(cx),
            done => done,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_shutdown(cx) {
            Poll::Pending => this.write_pending(cx),
            done => done,
        }
    }
}
