//! The gateway's usage in Prometheus (OpenMetrics) text, through `prometheus-client`: per
//! line (labelled by service and `country host:port`, never a credential), and the refusals
//! that no line is to blame for.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::counting::{Meters, Traffic};
use super::lines::Line;

/// Registers each metric (a clone: the families share their values) under its name and help.
macro_rules! register {
    ($r:ident, $($name:literal => $metric:expr, $help:literal;)*) => {
        $( $r.register($name, $help, $metric.clone()); )*
    };
}

/// A line of a service.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct LineLabels {
    service: String,
    line: String,
}

impl LineLabels {
    pub(crate) fn of(line: &Line) -> Self {
        LineLabels {
            service: line.service.clone(),
            line: line.label().to_owned(),
        }
    }
}

/// A line and what went wrong.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    service: String,
    line: String,
    kind: String,
}

/// A service.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    service: String,
}

/// A refusal no line is to blame for (queue full, queue timeout, no line).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

type Latency = Family<LineLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~16 s
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// Every metric of a gateway.
#[derive(Clone)]
pub(crate) struct Metrics {
    registry: Arc<Registry>,
    requests: Family<LineLabels, Counter>,
    sent: Family<LineLabels, Counter>,
    received: Family<LineLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    latency: Latency,
    in_use: Family<ServiceLabels, Gauge>,
    refused: Family<ReasonLabels, Counter>,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let m = Metrics {
            registry: Arc::new(Registry::default()),
            requests: Family::default(),
            sent: Family::default(),
            received: Family::default(),
            errors: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            in_use: Family::default(),
            refused: Family::default(),
        };
        let mut r = Registry::with_prefix("opx_gateway");
        register!(r,
            "requests" => m.requests, "Requests and tunnels carried, per line";
            "sent_bytes" => m.sent, "Bytes sent upstream, per line";
            "received_bytes" => m.received, "Bytes received from upstream, per line";
            "errors" => m.errors, "Upstream failures per line, by kind";
            "upstream_latency_seconds" => m.latency,
                "Time to an established upstream tunnel (connect and CONNECT), per line";
            "threads_in_use" => m.in_use, "Upstream connections open, per service";
            "refused" => m.refused, "Requests refused before any line was tried, by reason";
        );
        Metrics {
            registry: Arc::new(r),
            ..m
        }
    }

    /// The text exposition (OpenMetrics).
    pub(crate) fn text(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// The byte meters of an upstream connection on `line`.
    pub(crate) fn meters(&self, line: &Line, traffic: Arc<Traffic>) -> Meters {
        let l = LineLabels::of(line);
        Meters {
            sent: self.sent.get_or_create_owned(&l),
            received: self.received.get_or_create_owned(&l),
            traffic,
        }
    }

    /// A request or tunnel carried on `line`, established in `took`.
    pub(crate) fn carried(&self, line: &Line, took: Duration) {
        let l = LineLabels::of(line);
        self.requests.get_or_create(&l).inc();
        self.latency.get_or_create(&l).observe(took.as_secs_f64());
    }

    /// A request carried on a session's kept connection.
    pub(crate) fn reused(&self, line: &Line) {
        self.requests.get_or_create(&LineLabels::of(line)).inc();
    }

    pub(crate) fn error(&self, line: &Line, kind: &str) {
        let labels = ErrorLabels {
            service: line.service.clone(),
            line: line.label().to_owned(),
            kind: kind.to_owned(),
        };
        self.errors.get_or_create(&labels).inc();
    }

    pub(crate) fn refused(&self, reason: &str) {
        let labels = ReasonLabels {
            reason: reason.to_owned(),
        };
        self.refused.get_or_create(&labels).inc();
    }

    pub(crate) fn set_in_use(&self, service: &str, n: u32) {
        let labels = ServiceLabels {
            service: service.to_owned(),
        };
        self.in_use.get_or_create(&labels).set(i64::from(n));
    }
}
