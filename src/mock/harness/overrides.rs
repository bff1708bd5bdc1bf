//! Drift simulation: the answers of an operation reshaped the way another reading of the docs,
//! or a future version of the API, might shape them (a status, headers, the body replaced, or
//! transformed by JSON-pointer paths). Set with
//! [`Faults::override_response`](crate::mock::Faults::override_response) or
//! `POST /_mock/overrides`; applied after the answer was checked against the spec.
//!
//! ```
//! use opx::mock::{ResponseOverride, Transform};
//! // Whitelist entries as plain strings, and no `next_cursor` on the last page.
//! let o = ResponseOverride::default()
//!     .transform(Transform::Lift { path: "/data/services/*/whitelist/*".into(), field: "ip".into() })
//!     .transform(Transform::Remove { path: "/data/next_cursor".into() });
//! let json = serde_json::to_value(&o).unwrap();
//! assert_eq!(json["transforms"][0]["op"], "lift");
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How to reshape the successful answers of one operation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ResponseOverride {
    /// The status to answer with instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Headers to set (a value) or remove (`null`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, Option<String>>,
    /// A JSON body to answer with instead (before the transforms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Changes to the JSON body, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<Transform>,
    /// How many answers to reshape (`None`: every one until cleared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
}

impl ResponseOverride {
    /// Answer with this status.
    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
    /// Set a header (or remove it with `None`).
    pub fn header(mut self, name: impl Into<String>, value: Option<String>) -> Self {
        self.headers.insert(name.into(), value);
        self
    }
    /// Answer with this JSON body.
    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
    /// Add a change to the body.
    pub fn transform(mut self, t: Transform) -> Self {
        self.transforms.push(t);
        self
    }
    /// Reshape only the next `n` answers.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }
}

/// One change to a JSON body. A `path` is a JSON pointer in which `*` stands for every member of
/// an array or object (`/data/services/*/whitelist/*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Transform {
    /// Set the value at `path` (adding the member when its object exists).
    Set {
        /// Where.
        path: String,
        /// The new value.
        value: Value,
    },
    /// Remove the member at `path`.
    Remove {
        /// Where.
        path: String,
    },
    /// Remove the member at `path` when it is `null` (e.g. `next_cursor` on the last page).
    RemoveNull {
        /// Where.
        path: String,
    },
    /// Rename the member at `path` to `to`.
    Rename {
        /// Where.
        path: String,
        /// The new member name.
        to: String,
    },
    /// Replace the object at `path` with its member `field` (e.g. `{ip, label}` -> `"ip"`).
    Lift {
        /// Where.
        path: String,
        /// The member that replaces the object.
        field: String,
    },
    /// Keep only these members of the object at `path`.
    Keep {
        /// Where.
        path: String,
        /// The members kept.
        fields: Vec<String>,
    },
}

impl Transform {
    /// [`Transform::Rename`]: the member at `path` renamed to `to`.
    pub fn rename(path: impl Into<String>, to: impl Into<String>) -> Self {
        Transform::Rename {
            path: path.into(),
            to: to.into(),
        }
    }
    /// [`Transform::Remove`]: the member at `path` removed.
    pub fn remove(path: impl Into<String>) -> Self {
        Transform::Remove { path: path.into() }
    }
    /// [`Transform::Set`]: the value at `path` set to `value`.
    pub fn set(path: impl Into<String>, value: Value) -> Self {
        Transform::Set {
            path: path.into(),
            value,
        }
    }
}

/// Calls `f(parent, key)` for every place `segments` (with `*`) reach below `value`.
fn each_place(value: &mut Value, segments: &[String], f: &mut dyn FnMut(&mut Value, &str)) {
    let Some((first, rest)) = segments.split_first() else {
        return;
    };
    if rest.is_empty() {
        if first == "*" {
            let keys: Vec<String> = match value {
                Value::Object(m) => m.keys().cloned().collect(),
                Value::Array(a) => (0..a.len()).map(|i| i.to_string()).collect(),
                _ => Vec::new(),
            };
            for k in keys {
                f(value, &k);
            }
        } else {
            f(value, first);
        }
        return;
    }
    let children: Vec<&mut Value> = match (value, first.as_str()) {
        (Value::Object(m), "*") => m.values_mut().collect(),
        (Value::Array(a), "*") => a.iter_mut().collect(),
        (Value::Object(m), k) => m.get_mut(k).into_iter().collect(),
        (Value::Array(a), k) => k
            .parse::<usize>()
            .ok()
            .and_then(|i| a.get_mut(i))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    for child in children {
        each_place(child, rest, f);
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn child<'a>(parent: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    match parent {
        Value::Object(m) => m.get_mut(key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
        _ => None,
    }
}

impl Transform {
    /// Applies the change to `body`.
    pub fn apply(&self, body: &mut Value) {
        match self {
            Transform::Set { path, value } if path.is_empty() => *body = value.clone(),
            Transform::Set { path, value } => {
                each_place(body, &segments(path), &mut |p, k| match p {
                    Value::Object(m) => {
                        m.insert(k.to_owned(), value.clone());
                    }
                    other => {
                        if let Some(slot) = child(other, k) {
                            *slot = value.clone();
                        }
                    }
                })
            }
            Transform::Remove { path } => each_place(body, &segments(path), &mut |p, k| {
                if let Value::Object(m) = p {
                    m.remove(k);
                }
            }),
            Transform::RemoveNull { path } => each_place(body, &segments(path), &mut |p, k| {
                if let Value::Object(m) = p
                    && m.get(k).is_some_and(Value::is_null)
                {
                    m.remove(k);
                }
            }),
            Transform::Rename { path, to } => each_place(body, &segments(path), &mut |p, k| {
                if let Value::Object(m) = p
                    && let Some(v) = m.remove(k)
                {
                    m.insert(to.clone(), v);
                }
            }),
            Transform::Lift { path, field } => each_place(body, &segments(path), &mut |p, k| {
                if let Some(slot) = child(p, k)
                    && let Some(v) = slot.get(field).cloned()
                {
                    *slot = v;
                }
            }),
            Transform::Keep { path, fields } => {
                let keep = |v: &mut Value| {
                    if let Value::Object(m) = v {
                        m.retain(|k, _| fields.contains(k));
                    }
                };
                if path.is_empty() {
                    keep(body);
                } else {
                    each_place(body, &segments(path), &mut |p, k| {
                        if let Some(slot) = child(p, k) {
                            keep(slot);
                        }
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn transforms_reach_every_wildcard_match() {
        let mut v = json!({"data": {"services": [
            {"whitelist": [{"ip": "1.1.1.1", "label": null}, {"ip": "2.2.2.2"}]},
            {"whitelist": []}
        ], "next_cursor": null}});
        Transform::Lift {
            path: "/data/services/*/whitelist/*".into(),
            field: "ip".into(),
        }
        .apply(&mut v);
        Transform::Remove {
            path: "/data/next_cursor".into(),
        }
        .apply(&mut v);
        assert_eq!(
            v,
            json!({"data": {"services": [{"whitelist": ["1.1.1.1", "2.2.2.2"]}, {"whitelist": []}]}})
        );
        let mut logs = json!({"data": {"logs": [{"log_id": "a", "http_status": 200}]}});
        Transform::Rename {
            path: "/data/logs/*/log_id".into(),
            to: "id".into(),
        }
        .apply(&mut logs);
        assert_eq!(
            logs,
            json!({"data": {"logs": [{"id": "a", "http_status": 200}]}})
        );
        let mut svc = json!({"data": {"service_id": "x", "threads": 1}});
        Transform::Keep {
            path: "/data".into(),
            fields: vec!["service_id".into()],
        }
        .apply(&mut svc);
        assert_eq!(svc, json!({"data": {"service_id": "x"}}));
        Transform::Set {
            path: "/data".into(),
            value: json!({}),
        }
        .apply(&mut svc);
        assert_eq!(svc, json!({"data": {}}));
    }

    #[test]
    fn overrides_read_from_json_and_refuse_unknown_fields() {
        let o: ResponseOverride = serde_json::from_value(json!({
            "status": 201, "headers": {"x-ratelimit-reset": "1900000000"},
            "transforms": [{"op": "remove", "path": "/data/next_cursor"}], "times": 2
        }))
        .unwrap();
        assert_eq!((o.status, o.times), (Some(201), Some(2)));
        assert!(serde_json::from_value::<ResponseOverride>(json!({"stauts": 201})).is_err());
        assert!(
            serde_json::from_value::<Transform>(json!({"op": "explode", "path": "/"})).is_err()
        );
    }
}
