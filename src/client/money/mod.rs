//! What a client holds about money beyond sending: the journal of money calls (`journal.rs`,
//! its entries in `entry.rs`, the file store in `journal_file.rs`), the spend cap counted from
//! it (`cap.rs`), how long a lost answer is watched (`policy.rs`), and the settings that bundle
//! them (`settings.rs`). The workflows that use them are in `crate::safe`; the public names are
//! re-exported there.

mod access;
pub(crate) mod cap;
pub(crate) mod entry;
pub(crate) mod journal;
pub(crate) mod journal_file;
pub(crate) mod policy;
pub(crate) mod settings;
