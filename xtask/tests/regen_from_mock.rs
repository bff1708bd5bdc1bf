//! `regen` against the real mock (`opx::mock`), which serves the vendored document at
//! `/api/v1/openapi.json` on 127.0.0.1, as upstream serves its own.

use std::fs;

use xtask::{Source, normalize::to_canonical_string};

const VENDORED: &str = include_str!("../../spec/openapi.json");

/// Runs `f` with the base URL of a mock served by a background runtime.
fn with_mock(f: impl FnOnce(&str)) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(opx::mock::MockServer::start());
    f(server.base_url());
    drop(server);
}

#[test]
fn regen_from_the_mock_of_an_unchanged_spec_changes_nothing() {
    with_mock(|base| {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("openapi.json");
        fs::write(&target, VENDORED).unwrap();
        let url = format!("{base}/openapi.json");
        let report = xtask::regen(&Source::parse(&url).unwrap(), &target).unwrap();
        assert!(report.changes.is_empty(), "{:?}", report.changes);
        assert!(!report.written);
        assert_eq!(fs::read_to_string(&target).unwrap(), VENDORED);
    });
}

#[test]
fn regen_from_the_mock_over_an_older_spec_reports_what_upstream_added_and_removed() {
    // An "older" local copy: without GET /logs and with an extra operation upstream dropped.
    let mut older: serde_json::Value = serde_json::from_str(VENDORED).unwrap();
    let paths = older["paths"].as_object_mut().unwrap();
    paths.remove("/logs");
    paths.insert(
        "/status".into(),
        serde_json::json!({"get": {"operationId": "getStatus", "responses": {"200": {"description": "Up."}}}}),
    );
    with_mock(|base| {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("openapi.json");
        fs::write(&target, to_canonical_string(&older)).unwrap();
        let url = format!("{base}/openapi.json");
        let report = xtask::regen(&Source::parse(&url).unwrap(), &target).unwrap();
        let lines: Vec<String> = report.changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "GET /logs (listLogs): added operation",
                "BREAKING GET /status (getStatus): removed operation",
            ]
        );
        assert!(report.written);
        assert_eq!(fs::read_to_string(&target).unwrap(), VENDORED);
    });
}
