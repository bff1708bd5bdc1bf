//! `regen` and `regen --check` end to end: from a file, from an HTTP server on loopback serving
//! `/api/v1/openapi.json`, with changed specs, bad documents and network errors. Every test works
//! in a temporary directory; nothing leaves 127.0.0.1.

use std::{
    fs,
    io::{BufRead, BufReader, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::Command,
    thread,
};

use serde_json::{Value, json};
use xtask::{Error, Source, normalize::to_canonical_string};

const VENDORED: &str = include_str!("../../spec/openapi.json");
const SPEC_PATH: &str = "/api/v1/openapi.json";

fn vendored() -> Value {
    serde_json::from_str(VENDORED).unwrap()
}

/// The vendored spec with an added operation, a removed response field, a narrowed request enum
/// and a new required parameter.
fn changed() -> Value {
    let mut doc = vendored();
    doc["paths"]["/status"] = json!({"get": {
        "operationId": "getStatus",
        "summary": "Service health",
        "responses": {"200": {"description": "Up."}}
    }});
    let account = &mut doc["components"]["schemas"]["Account"];
    account["properties"]
        .as_object_mut()
        .unwrap()
        .remove("email");
    account["required"] = json!(["username", "balance", "currency"]);
    doc["components"]["schemas"]["StatusFilter"]["enum"] = json!(["active", "expired"]);
    doc["paths"]["/logs"]["get"]["parameters"]
        .as_array_mut()
        .unwrap()
        .push(json!({"in": "query", "name": "region", "required": true,
                     "schema": {"type": "string"}}));
    doc
}

const CHANGED_SUMMARY: [&str; 4] = [
    "BREAKING GET /account (getAccount): response 200 application/json: removed field `data.email`",
    "BREAKING GET /logs (listLogs): new required query parameter `region`",
    "BREAKING GET /services (listServices): query parameter `status`: narrowed enum: removed `all`",
    "GET /status (getStatus): added operation",
];

/// A temporary directory holding a copy of the vendored spec.
fn workdir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("openapi.json");
    fs::write(&target, VENDORED).unwrap();
    (dir, target)
}

/// The names in `dir` (to catch temporary files left behind).
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Serves `body` with `status` and `content_type` at `/api/v1/openapi.json` (404 elsewhere) on
/// 127.0.0.1, for `requests` connections; returns the server's base URL and the thread, which
/// yields the request paths it saw.
fn serve(
    status: u16,
    content_type: &'static str,
    body: String,
    requests: usize,
) -> (String, thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..requests {
            let (stream, _) = listener.accept().unwrap();
            seen.push(answer(stream, status, content_type, &body));
        }
        seen
    });
    (base, handle)
}

fn answer(stream: TcpStream, status: u16, content_type: &str, body: &str) -> String {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).unwrap();
        if header == "\r\n" || header.is_empty() {
            break;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let (status, body) = if path == SPEC_PATH {
        (status, body)
    } else {
        (404, "not found")
    };
    let mut stream = reader.into_inner();
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    path
}

fn summary_lines(report: &xtask::Report, target: &Path) -> Vec<String> {
    report.summary(target).lines().map(str::to_owned).collect()
}

#[test]
fn regen_from_a_file_writes_the_canonical_spec_and_summarizes_the_changes() {
    let (dir, target) = workdir();
    let source = dir.path().join("new.json");
    // Compact, in document order: regen must normalize it.
    fs::write(&source, serde_json::to_string(&changed()).unwrap()).unwrap();

    let report = xtask::regen(&Source::Path(source.clone()), &target).unwrap();

    let mut expected: Vec<String> = CHANGED_SUMMARY.iter().map(|s| s.to_string()).collect();
    expected.push("4 change(s), 3 breaking".into());
    expected.push(format!("wrote {}", target.display()));
    assert_eq!(summary_lines(&report, &target), expected);
    let written = fs::read_to_string(&target).unwrap();
    assert_eq!(written, to_canonical_string(&changed()));
    assert!(written.starts_with("{\n  \"components\": {\n    \"headers\": {\n"));
    assert!(written.ends_with("}\n") && !written.ends_with("\n\n"));
    assert_eq!(names(dir.path()), ["new.json", "openapi.json"]);

    // Again: nothing changes and the file is not rewritten.
    let again = xtask::regen(&Source::Path(source), &target).unwrap();
    assert!(!again.written);
    assert!(again.changes.is_empty());
    assert_eq!(
        summary_lines(&again, &target),
        [
            "no API changes".to_owned(),
            format!("{} is already up to date", target.display())
        ]
    );
    assert_eq!(fs::read_to_string(&target).unwrap(), written);
}

#[test]
fn regen_from_an_http_server_on_loopback() {
    let (dir, target) = workdir();
    let body = serde_json::to_string_pretty(&changed()).unwrap();
    let (base, server) = serve(200, "application/json", body, 1);

    let url = format!("{base}{SPEC_PATH}");
    let report = xtask::regen(&Source::parse(&url).unwrap(), &target).unwrap();

    assert_eq!(server.join().unwrap(), [SPEC_PATH]);
    let lines: Vec<String> = report.changes.iter().map(ToString::to_string).collect();
    assert_eq!(lines, CHANGED_SUMMARY);
    assert_eq!(report.breaking(), 3);
    assert!(report.written);
    assert_eq!(
        fs::read_to_string(&target).unwrap(),
        to_canonical_string(&changed())
    );
    assert_eq!(names(dir.path()), ["openapi.json"]);
}

#[test]
fn regen_into_an_empty_directory_lists_every_operation_as_added() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("openapi.json");
    let source = dir.path().join("new.json");
    fs::write(&source, VENDORED).unwrap();
    let report = xtask::regen(&Source::Path(source), &target).unwrap();
    assert!(report.previous_unreadable.is_some());
    let added = report
        .changes
        .iter()
        .filter(|c| !c.breaking && c.detail == "added operation")
        .count();
    assert_eq!(added, opx::Operation::ALL.len());
    assert_eq!(fs::read_to_string(&target).unwrap(), VENDORED);
}

/// Runs regen from `body` served over HTTP (as JSON) and from a file; both must fail with an
/// error containing `expected`, on one line, leaving the target byte-identical and no stray file.
fn assert_refused(body: String, expected: &str) {
    let (dir, target) = workdir();
    let source = dir.path().join("bad.json");
    fs::write(&source, &body).unwrap();
    let (base, server) = serve(200, "application/json", body, 1);
    let url = Source::Url(format!("{base}{SPEC_PATH}"));
    for source in [Source::Path(source), url] {
        let err = xtask::regen(&source, &target).expect_err("the document is refused");
        let message = err.to_string();
        assert!(
            message.contains(expected),
            "{expected:?} not in {message:?}"
        );
        assert!(message.starts_with(&source.to_string()), "{message}");
        assert!(!message.contains('\n'), "{message}");
        assert_eq!(fs::read(&target).unwrap(), VENDORED.as_bytes());
        assert_eq!(names(dir.path()), ["bad.json", "openapi.json"]);
    }
    server.join().unwrap();
}

#[test]
fn a_non_json_answer_is_refused() {
    assert_refused(
        "<html><body>Bad gateway</body></html>".into(),
        "is not JSON (expected value at line 1 column 1); it starts with \"<html><body>",
    );
}

/// The vendored document with one edit each: a 3.0 document, an invalid schema, a duplicate
/// operationId; each refused with its reason.
#[test]
fn a_3_0_document_an_invalid_schema_and_a_duplicate_operation_id_are_refused() {
    type Edit = fn(&mut Value);
    let edits: [(Edit, &str); 3] = [
        (
            |doc| doc["openapi"] = json!("3.0.3"),
            "is not a valid OpenAPI 3.1 document: at /openapi: `openapi` is \"3.0.3\", expected 3.1.x",
        ),
        (
            |doc| doc["components"]["schemas"]["Plan"]["type"] = json!("obj"),
            "is not a valid OpenAPI 3.1 document: at /components/schemas/Plan: schema does not compile",
        ),
        (
            |doc| doc["paths"]["/logs"]["get"]["operationId"] = json!("listServices"),
            "duplicate operationId \"listServices\"",
        ),
    ];
    for (edit, expected) in edits {
        let mut doc = vendored();
        edit(&mut doc);
        assert_refused(doc.to_string(), expected);
    }
}

/// A document that drops documented error codes is taken (the generated `ErrorCode` follows the
/// spec), and the change is reported: narrowing a response enum breaks no API client, and the
/// crate's own uses of a dropped variant fail the `cargo check` that follows.
#[test]
fn a_document_that_drops_documented_error_codes_is_reported() {
    let (dir, target) = workdir();
    let mut doc = vendored();
    doc["components"]["schemas"]["ErrorCode"]["enum"] = json!(["invalid_token", "server_error"]);
    doc["components"]["schemas"]["ErrorCode"]["x-enum-descriptions"] = json!(["a", "b"]);
    doc["components"]["schemas"]["ErrorCode"]["x-enum-http-status"] = json!([401, 500]);
    let source = dir.path().join("fewer-codes.json");
    fs::write(&source, doc.to_string()).unwrap();
    let report = xtask::regen(&Source::Path(source), &target).expect("taken");
    let narrowed: Vec<_> = report
        .changes
        .iter()
        .filter(|c| {
            c.detail
                .contains("narrowed enum: removed `invalid_request`")
        })
        .collect();
    assert!(!narrowed.is_empty(), "{report:?}");
    assert!(narrowed.iter().all(|c| !c.breaking), "{narrowed:?}");
}

#[test]
fn a_valid_document_progenitor_cannot_take_is_refused() {
    let mut doc = vendored();
    doc["components"]["schemas"]["Pair"] = json!({
        "type": "array",
        "prefixItems": [{"type": "string"}, {"type": "integer"}]
    });
    assert_refused(
        doc.to_string(),
        "cannot generate the client: cannot convert OpenAPI 3.1 to 3.0 at /components/schemas/Pair",
    );
}

#[test]
fn an_http_error_status_is_refused() {
    let (dir, target) = workdir();
    let (base, server) = serve(500, "text/plain", "oops".into(), 1);
    let url = format!("{base}{SPEC_PATH}");
    let err = xtask::regen(&Source::Url(url.clone()), &target).unwrap_err();
    server.join().unwrap();
    assert!(matches!(err, Error::Fetch(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("cannot fetch {url}: HTTP status 500")
    );
    assert_eq!(fs::read(&target).unwrap(), VENDORED.as_bytes());
    assert_eq!(names(dir.path()), ["openapi.json"]);
}

#[test]
fn a_wrong_path_gets_the_servers_404() {
    let (_dir, target) = workdir();
    let (base, server) = serve(200, "application/json", VENDORED.into(), 1);
    let err = xtask::regen(&Source::Url(format!("{base}/openapi.json")), &target).unwrap_err();
    assert_eq!(server.join().unwrap(), ["/openapi.json"]);
    assert!(err.to_string().ends_with("HTTP status 404"), "{err}");
    assert_eq!(fs::read(&target).unwrap(), VENDORED.as_bytes());
}

#[test]
fn a_network_error_is_one_line_and_leaves_the_target_untouched() {
    let (dir, target) = workdir();
    // A port that was just free: nothing listens there any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}{SPEC_PATH}");
    let err = xtask::regen(&Source::Url(url.clone()), &target).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Fetch(_)), "{err:?}");
    assert!(
        message.starts_with(&format!("cannot fetch {url}: ")),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");
    assert_eq!(fs::read(&target).unwrap(), VENDORED.as_bytes());
    assert_eq!(names(dir.path()), ["openapi.json"]);
}

#[test]
fn check_passes_on_the_vendored_spec_and_names_the_first_unnormalized_line() {
    let (dir, target) = workdir();
    xtask::check(&target).unwrap();

    let no_newline = dir.path().join("no-newline.json");
    fs::write(&no_newline, VENDORED.trim_end()).unwrap();
    let err = xtask::check(&no_newline).unwrap_err();
    let last_line = VENDORED.lines().count();
    assert!(
        matches!(err, Error::NotNormalized { line, .. } if line == last_line),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&format!(
            "line {last_line} is \"}}\" but should be \"}}\\n\""
        )),
        "{err}"
    );

    let compact = dir.path().join("compact.json");
    fs::write(&compact, vendored().to_string()).unwrap();
    let err = xtask::check(&compact).unwrap_err();
    assert!(
        matches!(err, Error::NotNormalized { line: 1, .. }),
        "{err:?}"
    );

    let unsorted = dir.path().join("unsorted.json");
    let mut doc = vendored();
    let info = doc["info"].take();
    doc.as_object_mut().unwrap().remove("info");
    doc["info"] = info;
    fs::write(
        &unsorted,
        serde_json::to_string_pretty(&doc).unwrap() + "\n",
    )
    .unwrap();
    let before = fs::read(&unsorted).unwrap();
    let err = xtask::check(&unsorted).unwrap_err();
    assert!(
        err.to_string().contains("is not normalized")
            && err.to_string().contains("cargo xtask regen --from"),
        "{err}"
    );
    assert_eq!(fs::read(&unsorted).unwrap(), before, "--check never writes");

    let v30 = dir.path().join("v30.json");
    doc["openapi"] = json!("3.0.3");
    fs::write(&v30, to_canonical_string(&doc)).unwrap();
    let err = xtask::check(&v30).unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
}

#[test]
fn the_binary_regens_with_no_check_and_fails_check_with_one_error_line() {
    let (dir, target) = workdir();
    let source = dir.path().join("new.json");
    fs::write(&source, changed().to_string()).unwrap();
    let exe = env!("CARGO_BIN_EXE_xtask");

    let out = Command::new(exe)
        .args(["regen", "--no-check", "--from"])
        .arg(&source)
        .arg("--spec")
        .arg(&target)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    for line in CHANGED_SUMMARY {
        assert!(stdout.lines().any(|l| l == line), "{line}\n{stdout}");
    }
    let out = Command::new(exe)
        .args(["regen", "--check", "--spec"])
        .arg(&target)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    fs::write(&target, "{}").unwrap();
    let out = Command::new(exe)
        .args(["regen", "--check", "--spec"])
        .arg(&target)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("no `openapi` field"),
        "{stderr}"
    );

    let out = Command::new(exe)
        .args(["regen", "--check", "--from", "x.json"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "--check and --from conflict");
}
