//! The library flows one way (ARCHITECTURE.md, "Layers"): its files import each other without
//! a circle, and an import up the layers is an exception listed here, not a habit.
//!
//! The graph is read from the text of `src/` (the binary's `src/bin/` aside): an edge goes from
//! a file to the file that *defines* what it names through `crate::`, `super::`, `self::` or a
//! child module, re-exports followed (a `pub use` line is a door, not a dependency). Test
//! modules at the end of a file (`#[cfg(test)] mod tests { .. }`) are left out: a test may
//! reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;

/// The layers, lowest first; a file belongs to the first entry that names it (a folder ends
/// with `/`). Everything in `src/` must be in one.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "facts",
        &[
            "operation.rs",
            "spec.rs",
            "clock.rs",
            "text.rs",
            "sync.rs",
            "setters.rs",
        ],
    ),
    (
        "error",
        &["error.rs", "error_tests.rs", "charge.rs", "envelope.rs"],
    ),
    ("types", &["types/", "proxies/"]),
    (
        "http",
        &[
            "transport/",
            "ratelimit/",
            "retry.rs",
            "tls.rs",
            "response.rs",
        ],
    ),
    ("client", &["client/"]),
    (
        "workflows",
        &["safe/", "renewal/", "doctor.rs", "check/", "conformance/"],
    ),
    (
        "outer",
        &[
            "mock/",
            "gateway/",
            "forward_proxy.rs",
            "fuzzing.rs",
            "lib.rs",
        ],
    ),
];

/// Imports allowed to run up the layers, each with why.
const UP: &[(&str, &str, &str)] = &[
    // The clock's `sleep_until` fails with the crate's error on a deadline.
    ("clock.rs", "error.rs", "a clock error is an Error"),
    // An error carries the rate-limit headers of its response.
    ("error.rs", "ratelimit/mod.rs", "Error::rate_limit"),
];

/// Import circles allowed, as sets of files.
const CIRCLES: &[&[&str]] = &[
    // Compiling the spec's routes validates them, and validation looks routes up.
    &["conformance/routes.rs", "conformance/validate.rs"],
];

struct Tree {
    /// Module path (`["client", "builder"]`) to file (relative to `src/`).
    files: BTreeMap<Vec<String>, String>,
    /// File to its text, comments and trailing test module removed.
    text: BTreeMap<String, String>,
}

fn read_tree(src: &Path) -> Tree {
    let mut files = BTreeMap::new();
    let mut text = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path: PathBuf = entry.unwrap().path();
            let rel = path
                .strip_prefix(src)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                if rel != "bin" {
                    stack.push(path);
                }
            } else if rel.ends_with(".rs") {
                files.insert(module_of(&rel), rel.clone());
                text.insert(rel, strip(&std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    Tree { files, text }
}

fn module_of(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The text without line comments and without a trailing `#[cfg(test)] mod tests { .. }`.
fn strip(src: &str) -> String {
    let no_comments = Regex::new(r"//[^\n]*").unwrap().replace_all(src, "");
    let tests = Regex::new(r"#\[cfg\(test\)\]\s*mod tests\s*\{").unwrap();
    match tests.find(&no_comments) {
        Some(m) => no_comments[..m.start()].to_owned(),
        None => no_comments.into_owned(),
    }
}

/// The paths a `use` tree names: `a::{b, c::{d, e}}` is `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{').filter(|_| tree.ends_with('}')) else {
        return vec![tree.split(" as ").next().unwrap().trim().to_owned()];
    };
    let prefix = tree[..open].trim_end_matches("::");
    let (mut parts, mut depth, mut cur) = (Vec::new(), 0, String::new());
    for c in tree[open + 1..tree.len() - 1].chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    parts.push(cur);
    parts
        .iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(|p| expand(p))
        .map(|p| {
            if prefix.is_empty() {
                p
            } else {
                format!("{prefix}::{p}")
            }
        })
        .collect()
}

impl Tree {
    /// `path` as an absolute module path, seen from the module `me`.
    fn absolute(&self, path: &str, me: &[String]) -> Option<Vec<String>> {
        let segs: Vec<String> = path.split("::").map(|s| s.trim().to_owned()).collect();
        match segs[0].as_str() {
            "crate" => Some(segs[1..].to_vec()),
            "super" | "self" => {
                let mut cur = me.to_vec();
                let mut rest = segs.as_slice();
                while let Some(first) = rest.first().filter(|s| *s == "super" || *s == "self") {
                    if first == "super" {
                        cur.pop();
                    }
                    rest = &rest[1..];
                }
                cur.extend_from_slice(rest);
                Some(cur)
            }
            child => {
                let mut inner = me.to_vec();
                inner.push(child.to_owned());
                self.files.contains_key(&inner).then(|| {
                    inner.extend_from_slice(&segs[1..]);
                    inner
                })
            }
        }
    }

    /// The names each file re-exports, to the absolute path they stand for.
    fn re_exports(&self) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
        let re = Regex::new(r"\bpub(\([\w:]+\))?\s+use\s+([^;]+);").unwrap();
        let mut out = BTreeMap::new();
        for (me, file) in &self.files {
            let names: &mut BTreeMap<String, Vec<String>> = out.entry(file.clone()).or_default();
            for m in re.captures_iter(&self.text[file]) {
                for p in expand(&m[2]) {
                    if let Some(abs) = self.absolute(&p, me) {
                        names.insert(abs.last().cloned().unwrap_or_default(), abs);
                    }
                }
            }
        }
        out
    }

    /// The file that defines what `abs` names, re-exports followed.
    fn resolve(
        &self,
        abs: &[String],
        re: &BTreeMap<String, BTreeMap<String, Vec<String>>>,
        depth: u32,
    ) -> Option<String> {
        (1..=abs.len()).rev().find_map(|n| {
            let file = self.files.get(&abs[..n])?;
            let through = abs.get(n).and_then(|name| re[file].get(name));
            match through {
                Some(target) if depth < 10 => {
                    self.resolve(target, re, depth + 1).or(Some(file.clone()))
                }
                _ => Some(file.clone()),
            }
        })
    }

    fn edges(&self) -> BTreeMap<String, BTreeSet<String>> {
        let re = self.re_exports();
        let pub_use = Regex::new(r"\bpub(\([\w:]+\))?\s+use\s+[^;]+;").unwrap();
        let uses = Regex::new(r"\buse\s+([^;]+);").unwrap();
        let paths = Regex::new(r"(?:^|[^\w:])((?:crate|super)(?:::\w+)+)").unwrap();
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (me, file) in &self.files {
            let body = pub_use.replace_all(&self.text[file], "");
            let mut named: Vec<String> = uses
                .captures_iter(&body)
                .flat_map(|m| expand(&m[1]))
                .collect();
            named.extend(paths.captures_iter(&body).map(|m| m[1].to_owned()));
            let to = out.entry(file.clone()).or_default();
            for p in named {
                let target = self
                    .absolute(&p, me)
                    .and_then(|abs| self.resolve(&abs, &re, 0));
                if let Some(t) = target.filter(|t| t != file) {
                    to.insert(t);
                }
            }
        }
        out
    }
}

fn layer(file: &str) -> usize {
    LAYERS
        .iter()
        .position(|(_, names)| {
            names
                .iter()
                .any(|n| file == *n || (n.ends_with('/') && file.starts_with(n)))
        })
        .unwrap_or_else(|| panic!("src/{file} is in no layer of tests/layers.rs"))
}

/// The strongly connected components of more than one file (Tarjan).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        for w in s.edges.get(v).into_iter().flatten() {
            if !s.index.contains_key(w.as_str()) {
                visit(s, w);
                let lw = s.low[w.as_str()];
                s.low.entry(v).and_modify(|l| *l = (*l).min(lw));
            } else if s.stack.contains(&w.as_str()) {
                let iw = s.index[w.as_str()];
                s.low.entry(v).and_modify(|l| *l = (*l).min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                comp.insert(w.to_owned());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                s.found.push(comp);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    read_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src")).edges()
}

#[test]
fn the_library_has_no_import_circle_but_the_listed_ones() {
    let allowed: Vec<BTreeSet<String>> = CIRCLES
        .iter()
        .map(|c| c.iter().map(|f| f.to_string()).collect())
        .collect();
    let extra: Vec<_> = circles(&graph())
        .into_iter()
        .filter(|c| !allowed.contains(c))
        .collect();
    assert!(
        extra.is_empty(),
        "files that import each other (put what they share in a leaf file): {extra:#?}"
    );
}

#[test]
fn imports_run_down_the_layers_but_the_listed_ones() {
    let allowed: BTreeSet<(&str, &str)> = UP.iter().map(|(a, b, _)| (*a, *b)).collect();
    let up: Vec<(String, String)> = graph()
        .into_iter()
        .flat_map(|(from, to)| to.into_iter().map(move |t| (from.clone(), t)))
        .filter(|(from, to)| layer(to) > layer(from))
        .filter(|(from, to)| !allowed.contains(&(from.as_str(), to.as_str())))
        .collect();
    assert!(
        up.is_empty(),
        "imports up the layers (tests/layers.rs, LAYERS): {up:#?}"
    );
}

/// The reader finds what it must: a circle through a parent's item, a re-export followed to
/// the file that defines the name, a test module left out.
#[test]
fn the_reader_sees_circles_and_follows_re_exports() {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("lib.rs", "mod a;\nmod b;\n");
    write(
        "a/mod.rs",
        "mod inner;\npub use inner::Thing;\npub struct Shared;\n",
    );
    write("a/inner.rs", "use super::Shared;\npub struct Thing;\n");
    write(
        "b.rs",
        "use crate::a::Thing;\n#[cfg(test)]\nmod tests {\n use crate::lib_only;\n}\n",
    );
    let edges = read_tree(dir.path()).edges();
    assert_eq!(
        edges["b.rs"],
        BTreeSet::from(["a/inner.rs".to_owned()]),
        "re-export followed, test left out"
    );
    assert_eq!(edges["a/inner.rs"], BTreeSet::from(["a/mod.rs".to_owned()]));
    assert!(circles(&edges).is_empty(), "a pub use is not an edge");
    write(
        "a/mod.rs",
        "mod inner;\nuse inner::Thing;\npub struct Shared;\nfn f() -> Thing { Thing }\n",
    );
    let edges = read_tree(dir.path()).edges();
    assert_eq!(
        circles(&edges),
        vec![BTreeSet::from([
            "a/inner.rs".to_owned(),
            "a/mod.rs".to_owned()
        ])]
    );
}
