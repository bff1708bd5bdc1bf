//! Whitelist edits that keep what is there: read the service's whitelist, add or remove one
//! address, write the whole list back (`PUT` replaces it), labels kept, and read it again to see
//! whether someone else changed it meanwhile.
//!
//! The API has no conditional write (no version or ETag on a service), so an edit cannot be
//! made atomic: a change by someone else that lands between this read and this write is
//! overwritten without trace. What can be seen is the list after the write: when it is not the
//! list written, someone else changed it in the meantime, and [`WhitelistEdit`] says so.
//!
//! **Labels.** A request carries labels parallel to the addresses, all or none. When any entry
//! has a label, every entry is sent with one; an entry without a label is sent with `""`, and
//! `""` and no label count as the same when lists are compared.

use std::net::Ipv4Addr;

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::operation::Operation;
use crate::types::{ServiceId, Whitelist};
use crate::types::{WhitelistEdit, WhitelistEntry, label_of, same_entries};

/// The request for `entries`: labels for all when any has one.
fn request_of(entries: &[WhitelistEntry]) -> Result<Whitelist> {
    if entries.iter().all(|e| label_of(e).is_empty()) {
        return Whitelist::new(entries.iter().map(|e| e.ip));
    }
    Whitelist::with_labels(entries.iter().map(|e| (e.ip, label_of(e).to_owned())))
}

impl Client {
    /// Adds `ip` to the service's whitelist (with `label`, if given), keeping every other entry
    /// and its label; an address already there keeps its place (its label replaced when one is
    /// given). Reads the whitelist, writes it back, reads it again: see
    /// [`WhitelistEdit::changed_meanwhile`]. Nothing is written when nothing would change, and
    /// a 51st address is refused (`too_many_ips`) before anything is written.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client, id: opx::types::ServiceId) -> opx::Result<()> {
    /// let edit = client.whitelist_add(&id, "203.0.113.10".parse().unwrap(), Some("home")).await?;
    /// if edit.changed_meanwhile() {
    ///     eprintln!("someone else changed the whitelist meanwhile: {:?}", edit.after);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn whitelist_add(
        &self,
        id: &ServiceId,
        ip: Ipv4Addr,
        label: Option<&str>,
    ) -> Result<WhitelistEdit> {
        self.edit_whitelist(id, |entries| {
            match entries.iter_mut().find(|e| e.ip == ip) {
                Some(e) => {
                    if let Some(l) = label {
                        e.label = Some(l.to_owned());
                    }
                }
                None => entries.push(WhitelistEntry::new(ip, label.map(str::to_owned))),
            }
        })
        .await
    }

    /// Removes `ip` from the service's whitelist, keeping every other entry and its label
    /// (see [`whitelist_add`](Self::whitelist_add) for how it reads, writes and checks).
    pub async fn whitelist_remove(&self, id: &ServiceId, ip: Ipv4Addr) -> Result<WhitelistEdit> {
        self.edit_whitelist(id, |entries| entries.retain(|e| e.ip != ip))
            .await
    }

    /// Read, `change`, write back unless unchanged, read again.
    async fn edit_whitelist(
        &self,
        id: &ServiceId,
        change: impl FnOnce(&mut Vec<WhitelistEntry>),
    ) -> Result<WhitelistEdit> {
        let before = self.service(id).await?.into_inner().whitelist;
        let mut wanted = before.clone();
        change(&mut wanted);
        for e in &mut wanted {
            if e.label.as_deref() == Some("") {
                e.label = None;
            }
        }
        if same_entries(&before, &wanted) {
            return Ok(WhitelistEdit {
                after: before.clone(),
                before,
                written: None,
            });
        }
        let request = request_of(&wanted)?;
        self.replace_whitelist(id, &request).await?;
        let after = match self.service(id).await {
            Ok(s) => s.into_inner().whitelist,
            Err(read) => {
                let message = format!(
                    "the whitelist of {id} was written, but reading it back failed: {read}"
                );
                return Err(
                    Error::new(ErrorKind::Unread, message).with_operation(Operation::GetService)
                );
            }
        };
        Ok(WhitelistEdit {
            before,
            written: Some(wanted),
            after,
        })
    }
}
