//! The append-only audit log: who did what to which record, when, from where, with what result.
//!
//! Every domain records its entry with [`record`] in the transaction of the change it records,
//! so a rolled-back change leaves no entry and a committed one always has its entry. Failures
//! and views, which change nothing else, are recorded with [`record_alone`].
//!
//! # Design: several chains, signed checkpoints
//!
//! - The log is [`CHAINS`] hash chains. Each entry carries its chain, its position in the chain
//!   (`chain_seq`, from 1 without gaps) and the SM3 hash of its content and of the entry before
//!   it in the same chain (the first entry of a chain hangs from that chain's [`genesis`]).
//! - A writer takes whichever chain's head row (`audit_heads`) no other transaction holds
//!   (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so audited writes do not wait for each other
//!   unless more than [`CHAINS`] of them are in flight at once; the head row is released when
//!   the writer's transaction ends. On SQLite the database's single writer orders everything.
//! - Every few minutes a job writes a checkpoint: every chain's head (position and hash), the
//!   hash of the checkpoint before, and an HMAC-SM3 signature under a key derived from the
//!   hall's master key. Checkpoints are chained and append-only too.
//! - `seq` is a global number for listing (newest first); on PostgreSQL it comes from a sequence
//!   and may skip numbers when a transaction rolls back. It is not part of any hash.
//!
//! # What [`verify`] finds
//!
//! - an entry edited (its hash no longer matches its content), removed from the middle of a
//!   chain (a position is missing), moved within or between chains (it no longer links to the
//!   entry before it), or a chain rewritten from some entry on with fresh hashes (the
//!   checkpoints, which the rewriter cannot sign, name other hashes);
//! - the newest entries removed, up to the last checkpoint (a checkpoint names a position the
//!   chain no longer reaches); removal of entries written after the last checkpoint is found
//!   only if their head row still names them;
//! - a checkpoint edited, removed or forged (hashes, links and signatures).
//!
//! What it cannot find: someone with the database and the master key can rewrite everything.
//! Copy the latest checkpoint's hash off the machine (it is logged at every checkpoint and
//! printed by `govhall audit verify`) to make that detectable too.

mod chain;
mod checkpoint;
mod entry;
mod event;
mod search;
mod verify;

pub use chain::{CHAINS, genesis, record, record_alone};
pub use checkpoint::{
    CHECKPOINT_JOB, Checkpoint, CheckpointKey, Head, latest_checkpoint, register, schedule, write_checkpoint,
};
pub use entry::Entry;
pub use event::{Actor, Event, Outcome};
pub use search::{Filter, search};
pub use verify::{Problem, Verification, verify};

/// SM3 of `data`, hex.
pub(crate) fn sm3_hex(data: &[u8]) -> String {
    use sm3::{Digest, Sm3};
    hex::encode(Sm3::digest(data))
}
