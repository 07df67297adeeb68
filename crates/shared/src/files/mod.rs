//! The file store of the `file_operations` category: uploads streamed to a
//! staging file with their sha256 computed on the way, fsync'd and renamed
//! into place; metadata that survives restarts; deterministic fixtures;
//! byte ranges; and real processing (analysis, gzip, image resize and
//! conversion). The store itself is blocking file-system code; [`Service`]
//! is the category's endpoints over it, handing the slow parts (commit,
//! processing, reads) to blocking threads.

/// Size of every read and write buffer of the store (staging, hashing,
/// processing): big enough for few system calls, small enough that many
/// concurrent uploads stay cheap in memory.
pub const IO_BUFFER: usize = 64 * 1024;

mod commit;
mod errors;
pub mod fixtures;
pub mod form;
pub mod framing;
mod incoming;
mod index;
pub mod jobs;
pub mod meta;
pub mod names;
pub mod process;
mod quota;
pub mod range;
pub mod service;
pub mod stats;
pub mod store;
pub mod transfer;
pub mod upload;
pub mod views;

pub use meta::{FileMeta, NewFile};
pub use process::{Analysis, Operation, Processed};
pub use range::ByteRange;
pub use service::Service;
pub use stats::{Stats, StatsSnapshot};
pub use store::{Store, StoreError, StoreOptions};
pub use upload::{Staged, Upload};

#[cfg(test)]
mod form_tests;
#[cfg(test)]
mod tests;
