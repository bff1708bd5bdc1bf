//! A drift report against any server (feature `doctor`): every read-only operation called once,
//! each answer checked against the vendored spec, every difference listed. Nothing is bought,
//! changed or regenerated.
//!
//! ```no_run
//! # async fn demo(client: opx::Client) -> opx::Result<()> {
//! let report = client.doctor().await?;
//! for d in &report.deviations {
//!     println!("{} {}: expected {}, found {}", d.operation, d.pointer, d.expected, d.found);
//! }
//! println!("{}", serde_json::to_string_pretty(&report).unwrap());
//! # Ok(()) }
//! ```

use serde::Serialize;
use serde_json::Value;

pub use crate::conformance::deviation::Deviation;

use crate::client::Client;
use crate::client::raw::RawAnswer;
use crate::conformance::{deviation, route_table};
use crate::error::Result;
use crate::operation::{Operation, ProxyFormat};
use crate::types::ServiceId;

/// What [`Client::doctor`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DoctorReport {
    /// Every difference from the spec, in the order the answers were checked.
    pub deviations: Vec<Deviation>,
    /// How many answers were checked.
    pub checked: usize,
}

impl DoctorReport {
    /// Nothing deviates.
    pub fn is_clean(&self) -> bool {
        self.deviations.is_empty()
    }
}

impl Client {
    /// Calls every read-only operation once (account, plans, a page of services, the first
    /// service, its proxy list as text and as JSON when there is one, a page of logs) and checks
    /// each answer's status, content type, body and headers against the vendored spec.
    ///
    /// An error the first call answers (a refused token, say) is returned as the error it is;
    /// after that, answers are checked whatever their status.
    pub async fn doctor(&self) -> Result<DoctorReport> {
        let mut report = DoctorReport {
            deviations: Vec::new(),
            checked: 0,
        };
        let account = self
            .get_raw(Operation::GetAccount, "/account", &[], None)
            .await?;
        if !(200..300).contains(&account.status) {
            return Err(self.account().await.err().unwrap_or_else(|| {
                crate::Error::new(crate::ErrorKind::Api, "the account could not be read")
            }));
        }
        self.check(&mut report, Operation::GetAccount, &account);
        let mut service: Option<ServiceId> = None;
        for op in Operation::ALL {
            for (query, accept) in reading(op) {
                let path = match (op.path().contains("{id}"), &service) {
                    (false, _) => op.path().to_owned(),
                    (true, Some(id)) => op.path().replace("{id}", id.as_ref()),
                    (true, None) => continue,
                };
                let answer = self.get_raw(op, &path, query, *accept).await?;
                self.check(&mut report, op, &answer);
                if op == Operation::ListServices {
                    service = first_service(&answer.body);
                }
            }
        }
        Ok(report)
    }

    fn check(&self, report: &mut DoctorReport, op: Operation, a: &RawAnswer) {
        let spec = route_table();
        let header = |n: &str| {
            a.headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let found = deviation::deviations(
            op,
            &spec.spec(op).responses,
            a.status,
            &a.content_type,
            &a.body,
            &header,
        );
        report.deviations.extend(found);
        report.checked += 1;
    }
}

/// One request doctor sends: its query and `Accept`.
type Request = (
    &'static [(&'static str, &'static str)],
    Option<&'static str>,
);

/// The requests doctor sends for `op`, derived from the operation table: none for one that is
/// not a `GET` (it could spend money or change something) and for `getAccount` (read first,
/// before the loop); `getProxies` in each of its forms; one page of one item for an operation
/// that pages; otherwise one plain request. An operation on a service reads the first service
/// of the list, when there is one. A new `GET` in the spec is read with no change here.
fn reading(op: Operation) -> &'static [Request] {
    const TXT: &str = ProxyFormat::Txt.as_str();
    const JSON: &str = ProxyFormat::Json.as_str();
    if op.method() != http::Method::GET || op == Operation::GetAccount {
        &[]
    } else if op == Operation::GetProxies {
        &[
            (&[("format", TXT)], Some("text/plain")),
            (&[("format", JSON)], Some("application/json")),
        ]
    } else if op.max_page_size().is_some() {
        &[(&[("limit", "1")], None)]
    } else {
        &[(&[], None)]
    }
}

/// The id of the first service of a page, read from its raw JSON (even if it does not decode).
fn first_service(body: &[u8]) -> Option<ServiceId> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let id = v.pointer("/data/services/0/service_id")?.as_str()?;
    ServiceId::new(id).ok()
}
