//! SECURITY.md's "Which test backs each claim" table names real tests: every path it names
//! exists, and every test it names is a `fn` in the file it is listed under. A renamed, moved
//! or deleted test fails here instead of leaving a claim backed by nothing.

use std::path::Path;

/// One reference of the table: a path and the test functions named in it.
#[derive(Debug)]
struct Reference {
    row: usize,
    path: String,
    tests: Vec<String>,
}

/// The backticked spans of `text`, in order.
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// `text` without its parenthesised asides (they quote things that are not tests).
fn without_asides(text: &str) -> String {
    let mut depth = 0usize;
    text.chars()
        .filter(|&c| {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ => return depth == 0,
            }
            false
        })
        .collect()
}

fn is_test_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The references in the last column of the table under `## Which test backs each claim`:
/// entries separated by `;`, each a backticked path followed by backticked test names.
fn references(security_md: &str) -> Vec<Reference> {
    let table = security_md
        .split("\n## Which test backs each claim\n")
        .nth(1)
        .expect("SECURITY.md has the claim -> test section");
    let table = table.split("\n## ").next().unwrap();
    let mut out = Vec::new();
    for (row, line) in table
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---") && !l.starts_with("| claim"))
        .enumerate()
    {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
        assert_eq!(
            cells.len(),
            2,
            "row {row} has a claim and its tests: {line}"
        );
        for entry in without_asides(cells[1]).split(';') {
            let spans = backticked(entry);
            let path = spans
                .iter()
                .find(|s| s.contains('/'))
                .unwrap_or_else(|| panic!("row {row}: an entry names no path: {entry:?}"));
            out.push(Reference {
                row,
                path: path.to_string(),
                tests: spans
                    .iter()
                    .filter(|s| is_test_name(s))
                    .map(|s| s.to_string())
                    .collect(),
            });
        }
    }
    out
}

/// Whether `source` defines a function `name` (`fn name(` or `fn name<`).
fn defines(source: &str, name: &str) -> bool {
    source.match_indices(&format!("fn {name}")).any(|(at, m)| {
        source[at + m.len()..].starts_with(['(', '<'])
            && source[..at]
                .chars()
                .next_back()
                .is_none_or(|c| c.is_whitespace())
    })
}

#[test]
fn every_path_and_test_named_in_security_md_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("SECURITY.md")).unwrap();
    let refs = references(&text);
    assert!(
        refs.len() >= 50,
        "the table was read: {} references",
        refs.len()
    );
    let named: usize = refs.iter().map(|r| r.tests.len()).sum();
    assert!(named >= 80, "the table names its tests: {named}");
    let mut missing = Vec::new();
    for r in &refs {
        let path = root.join(&r.path);
        if !path.exists() {
            missing.push(format!("row {}: no such path `{}`", r.row, r.path));
            continue;
        }
        if r.tests.is_empty() {
            continue;
        }
        let source = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("`{}` names tests but is not a file: {e}", r.path));
        for t in &r.tests {
            if !defines(&source, t) {
                missing.push(format!("row {}: no `fn {t}` in `{}`", r.row, r.path));
            }
        }
    }
    assert!(missing.is_empty(), "SECURITY.md:\n{}", missing.join("\n"));
}

#[test]
fn the_table_reader_finds_what_is_missing() {
    let md = "intro\n\n## Which test backs each claim\n\n| claim | test (path: name) |\n|---|---|\n\
        | a | `src/x.rs`: `one_test` (an aside `NOT_A_TEST`), `two`; the fuzz targets in `fuzz/` |\n\n## Next\n| x | `y/z`: `w` |\n";
    let refs = references(md);
    assert_eq!(refs.len(), 2, "{refs:?}");
    assert_eq!(
        (refs[0].path.as_str(), &refs[0].tests[..]),
        ("src/x.rs", &["one_test".to_owned(), "two".to_owned()][..])
    );
    assert_eq!((refs[1].path.as_str(), refs[1].tests.len()), ("fuzz/", 0));
    assert!(defines("#[test]\nfn one_test() {}", "one_test"));
    assert!(defines("    async fn two<T>() {}", "two"));
    assert!(!defines("fn one_test_more() {}", "one_test"));
    assert!(!defines("// calls one_test() but defines none", "one_test"));
}
