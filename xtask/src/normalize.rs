//! The vendored spec's canonical form, and writing it atomically.
//!
//! Canonical form: object keys sorted recursively (byte order of their UTF-8, as Python's
//! `sort_keys` does for the ASCII keys of this spec), two-space indentation, non-ASCII characters
//! written as themselves, one trailing newline. serde_json is built with `preserve_order` in this
//! workspace, so the keys are sorted explicitly rather than relying on a `BTreeMap`.
//!
//! One exception: a media-type map (the object under `content` whose keys are media types) keeps
//! the document's order. Its order carries meaning: openapi-python-client builds a response from
//! the first media type listed, so the proxies download lists `text/plain` first.

use std::{io, io::Write, path::Path};

use serde_json::{Map, Value};

/// Returns `value` with the keys of every object, at every depth, in sorted order.
/// (Media-type maps excepted: see the module docs.)
pub fn sort_keys(value: Value) -> Value {
    sort_below(value, false)
}

fn is_media_type_map(map: &Map<String, Value>) -> bool {
    !map.is_empty() && map.keys().all(|k| k.contains('/'))
}

fn sort_below(value: Value, under_content: bool) -> Value {
    match value {
        Value::Object(map) => {
            let keep_order = under_content && is_media_type_map(&map);
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            if !keep_order {
                entries.sort_by(|(a, _), (b, _)| a.cmp(b));
            }
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        let content = k == "content";
                        (k, sort_below(v, content))
                    })
                    .collect::<Map<String, Value>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// The canonical text of `value`: sorted keys, two-space indentation, trailing newline.
pub fn to_canonical_string(value: &Value) -> String {
    let sorted = sort_keys(value.clone());
    let mut text = serde_json::to_string_pretty(&sorted).expect("a JSON value always serializes");
    text.push('\n');
    text
}

/// Where two texts first differ: the 1-based line number and that line in each, with its
/// newline if it has one (`None` past the end of a text); `None` when the texts are equal.
pub fn first_difference<'a>(
    actual: &'a str,
    expected: &'a str,
) -> Option<(usize, Option<&'a str>, Option<&'a str>)> {
    if actual == expected {
        return None;
    }
    let mut a = actual.split_inclusive('\n');
    let mut e = expected.split_inclusive('\n');
    let mut line = 1;
    loop {
        match (a.next(), e.next()) {
            (Some(x), Some(y)) if x == y => line += 1,
            (x, y) => return Some((line, x, y)),
        }
    }
}

/// Replaces the file at `path` with `contents` atomically: the text goes to a temporary file in
/// the same directory, which is flushed to disk and then renamed over `path`. A reader sees the
/// old file or the new one, never a mix; on error the old file is untouched and the temporary
/// file is removed.
pub fn write_atomic(path: &Path, contents: &str) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".openapi-regen-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    temp.write_all(contents.as_bytes())?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fs;

    #[test]
    fn keys_are_sorted_at_every_depth_and_arrays_keep_their_order() {
        let value: Value =
            serde_json::from_str(r#"{"b": {"z": 1, "a": [{"y": 0, "x": 0}, 2]}, "a": "é"}"#)
                .unwrap();
        assert_eq!(
            to_canonical_string(&value),
            "{\n  \"a\": \"é\",\n  \"b\": {\n    \"a\": [\n      {\n        \"x\": 0,\n        \"y\": 0\n      },\n      2\n    ],\n    \"z\": 1\n  }\n}\n"
        );
    }

    #[test]
    fn media_type_maps_keep_their_order_and_nothing_else_does() {
        let value: Value = serde_json::from_str(
            r#"{"content": {"text/plain": {"z": 1, "a": 2}, "application/json": {}},
                "properties": {"content": {"type": "string", "description": "d"}}}"#,
        )
        .unwrap();
        let text = to_canonical_string(&value);
        let plain = text.find("text/plain").unwrap();
        assert!(plain < text.find("application/json").unwrap(), "{text}");
        assert!(
            text.find("\"a\": 2").unwrap() < text.find("\"z\": 1").unwrap(),
            "{text}"
        );
        // A schema property named `content` is not a media-type map: its keys are sorted.
        assert!(text.find("\"description\"").unwrap() < text.find("\"type\"").unwrap());
    }

    #[test]
    fn empty_containers_stay_on_one_line_like_python() {
        assert_eq!(
            to_canonical_string(&json!({"a": [], "b": {}})),
            "{\n  \"a\": [],\n  \"b\": {}\n}\n"
        );
    }

    #[test]
    fn the_vendored_spec_is_canonical() {
        let text = include_str!("../../spec/openapi.json");
        let value: Value = serde_json::from_str(text).unwrap();
        let canonical = to_canonical_string(&value);
        assert_eq!(first_difference(text, &canonical), None);
    }

    #[test]
    fn first_difference_names_the_line() {
        assert_eq!(first_difference("a\nb\nc\n", "a\nb\nc\n"), None);
        assert_eq!(
            first_difference("a\nB\nc\n", "a\nb\nc\n"),
            Some((2, Some("B\n"), Some("b\n")))
        );
        assert_eq!(
            first_difference("a\n", "a\nb\n"),
            Some((2, None, Some("b\n")))
        );
        assert_eq!(
            first_difference("a", "a\n"),
            Some((1, Some("a"), Some("a\n")))
        );
    }

    #[test]
    fn write_atomic_replaces_the_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("openapi.json");
        fs::write(&path, "old").unwrap();
        write_atomic(&path, "new\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("openapi.json")]);
    }

    #[test]
    fn write_atomic_into_a_missing_directory_fails_without_creating_anything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("openapi.json");
        assert!(write_atomic(&path, "x").is_err());
        assert!(!path.exists());
    }
}
