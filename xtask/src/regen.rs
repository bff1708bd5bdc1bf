//! `regen` and `regen --check` as library functions over an explicit target path, so tests can
//! work in a temporary directory.

use std::{fmt, fs, path::Path};

use serde_json::Value;

use crate::{
    diff::{Change, diff},
    fetch::{Source, fetch},
    normalize::{first_difference, to_canonical_string, write_atomic},
};

/// Why `regen` or `regen --check` failed. `Display` is one line naming the problem; the target
/// file is left byte-identical in every case.
#[derive(Debug)]
pub enum Error {
    /// The source could not be read or downloaded.
    Fetch(String),
    /// The source is not JSON.
    NotJson {
        /// Where the text came from.
        source: String,
        /// The parser's complaint.
        error: serde_json::Error,
        /// The first characters of the text.
        start: String,
    },
    /// The document fails a structural check.
    Invalid {
        /// Where the document came from.
        source: String,
        /// What is wrong.
        invalid: opx_codegen::validate::Invalid,
    },
    /// The 3.1 -> 3.0 conversion or progenitor failed.
    Generate {
        /// Where the document came from.
        source: String,
        /// What failed.
        error: opx_codegen::GenerateError,
    },
    /// The new spec could not be written.
    Write(String),
    /// `--check`: the vendored spec is not in canonical form.
    NotNormalized {
        /// The vendored spec.
        target: String,
        /// 1-based line of the first difference.
        line: usize,
        /// That line in the file.
        found: Option<String>,
        /// That line in the canonical form.
        expected: Option<String>,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = |l: &Option<String>| match l {
            Some(l) => format!("{l:?}"),
            None => "end of file".to_owned(),
        };
        match self {
            Self::Fetch(message) | Self::Write(message) => f.write_str(message),
            Self::NotJson {
                source,
                error,
                start,
            } => write!(
                f,
                "{source} is not JSON ({error}); it starts with {start:?}"
            ),
            Self::Invalid { source, invalid } => write!(f, "{source} is {invalid}"),
            Self::Generate { source, error } => {
                write!(f, "{source} cannot generate the client: {error}")
            }
            Self::NotNormalized {
                target,
                line: n,
                found,
                expected,
            } => write!(
                f,
                "{target} is not normalized (sorted keys, 2-space indent, trailing newline): \
                 line {n} is {} but should be {}; run `cargo xtask regen --from {target}` to fix",
                line(found),
                line(expected)
            ),
        }
    }
}

impl std::error::Error for Error {}

/// What `regen` did.
#[derive(Debug)]
pub struct Report {
    /// The changes against the previous target (all operations count as added when there was
    /// none), in summary order.
    pub changes: Vec<Change>,
    /// Whether the target file was (re)written; `false` when it already held the same bytes.
    pub written: bool,
    /// Notes of the 3.1 -> 3.0 conversion (things dropped or approximated).
    pub notes: Vec<String>,
    /// Set when the previous target was missing or not JSON (then it is not compared).
    pub previous_unreadable: Option<String>,
}

impl Report {
    /// The number of breaking changes.
    pub fn breaking(&self) -> usize {
        self.changes.iter().filter(|c| c.breaking).count()
    }

    /// The summary printed by `cargo xtask regen`, one change a line.
    pub fn summary(&self, target: &Path) -> String {
        let mut out = String::new();
        if let Some(why) = &self.previous_unreadable {
            out.push_str(&format!("no previous spec to compare with ({why})\n"));
        }
        for change in &self.changes {
            out.push_str(&format!("{change}\n"));
        }
        let target = target.display();
        if self.changes.is_empty() {
            out.push_str("no API changes\n");
        } else {
            out.push_str(&format!(
                "{} change(s), {} breaking\n",
                self.changes.len(),
                self.breaking()
            ));
        }
        if self.written {
            out.push_str(&format!("wrote {target}\n"));
        } else {
            out.push_str(&format!("{target} is already up to date\n"));
        }
        out
    }
}

/// Parses, validates and generates from `text`; returns the document and the conversion notes.
pub fn vet(source: &str, text: &str) -> Result<(Value, Vec<String>), Error> {
    let doc: Value = serde_json::from_str(text).map_err(|error| Error::NotJson {
        source: source.to_owned(),
        error,
        start: text.trim_start().chars().take(40).collect(),
    })?;
    opx_codegen::validate::validate(&doc).map_err(|invalid| Error::Invalid {
        source: source.to_owned(),
        invalid,
    })?;
    let generated =
        opx_codegen::generate(text, opx_codegen::INNER_TYPE).map_err(|error| Error::Generate {
            source: source.to_owned(),
            error,
        })?;
    Ok((doc, generated.notes))
}

/// Fetches the spec at `source`, checks it (valid OpenAPI 3.1, converts to 3.0, progenitor
/// generates), compares it with the one at `target` and writes it there in canonical form,
/// atomically. On any error `target` is left byte-identical.
pub fn regen(source: &Source, target: &Path) -> Result<Report, Error> {
    let text = fetch(source).map_err(Error::Fetch)?;
    let (new, notes) = vet(&source.to_string(), &text)?;
    let canonical = to_canonical_string(&new);

    let previous = fs::read_to_string(target);
    let (old, previous_unreadable) = match &previous {
        Ok(old_text) => match serde_json::from_str::<Value>(old_text) {
            Ok(old) => (old, None),
            Err(e) => (
                Value::Null,
                Some(format!("{} is not JSON: {e}", target.display())),
            ),
        },
        Err(e) => (
            Value::Null,
            Some(format!("cannot read {}: {e}", target.display())),
        ),
    };
    let changes = diff(&old, &new);

    let written = previous.as_deref().ok() != Some(canonical.as_str());
    if written {
        write_atomic(target, &canonical)
            .map_err(|e| Error::Write(format!("cannot write {}: {e}", target.display())))?;
    }
    Ok(Report {
        changes,
        written,
        notes,
        previous_unreadable,
    })
}

/// `regen --check`: the spec at `target` is valid, generates, and is byte-identical to its
/// canonical form. Never writes.
pub fn check(target: &Path) -> Result<(), Error> {
    let name = target.display().to_string();
    let text =
        fs::read_to_string(target).map_err(|e| Error::Fetch(format!("cannot read {name}: {e}")))?;
    let (doc, _notes) = vet(&name, &text)?;
    let canonical = to_canonical_string(&doc);
    match first_difference(&text, &canonical) {
        None => Ok(()),
        Some((line, found, expected)) => Err(Error::NotNormalized {
            target: name,
            line,
            found: found.map(str::to_owned),
            expected: expected.map(str::to_owned),
        }),
    }
}
