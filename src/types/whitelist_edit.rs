//! The result of a whitelist edit that keeps what is there.

use super::service::WhitelistEntry;

/// What [`Client::whitelist_add`](crate::Client::whitelist_add) /
/// [`Client::whitelist_remove`](crate::Client::whitelist_remove) did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WhitelistEdit {
    /// The whitelist as read before the edit.
    pub before: Vec<WhitelistEntry>,
    /// The whitelist written, or `None` when there was nothing to change (the address was
    /// already there with that label, or was not there to remove).
    pub written: Option<Vec<WhitelistEntry>>,
    /// The whitelist read again after the write (`before` when nothing was written).
    pub after: Vec<WhitelistEntry>,
}

impl WhitelistEdit {
    /// Whether the list read after the write differs from the list written: someone else
    /// changed the whitelist meanwhile (or the server did not keep what was sent).
    pub fn changed_meanwhile(&self) -> bool {
        self.written
            .as_ref()
            .is_some_and(|w| !same_entries(w, &self.after))
    }
}

/// The label as compared: no label and `""` are the same.
pub(crate) fn label_of(e: &WhitelistEntry) -> &str {
    e.label.as_deref().unwrap_or("")
}

/// The same addresses with the same labels, in any order.
pub(crate) fn same_entries(a: &[WhitelistEntry], b: &[WhitelistEntry]) -> bool {
    let key = |l: &[WhitelistEntry]| {
        let mut k: Vec<_> = l.iter().map(|e| (e.ip, label_of(e).to_owned())).collect();
        k.sort();
        k
    };
    key(a) == key(b)
}
