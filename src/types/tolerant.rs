//! Tolerant decoding, for what the docs leave open (see spec/README.md, "documented and
//! inferred"): a list item that does not decode is kept as [`Undecoded`] instead of failing the
//! page, and an inferred field in an unexpected shape becomes `None` instead of failing its
//! object.

use std::fmt;

use serde::de::{Deserialize, DeserializeOwned, Deserializer};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// A list item that did not decode: its JSON exactly as the server sent it, and why.
///
/// The JSON may hold secrets (a service's proxy password), so `Debug` shows only its keys.
///
/// ```
/// let page: opx::types::ServicePage = serde_json::from_str(r#"{"services": [{"service_id": "65aa1100b2c3d4e5f6a7b8d0"}], "next_cursor": null}"#)?;
/// assert!(page.services.is_empty());
/// let item = &page.undecoded[0];
/// assert_eq!(item.field("service_id"), Some("65aa1100b2c3d4e5f6a7b8d0"));
/// assert!(item.reason.contains("type"), "{}", item.reason);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Undecoded {
    /// The item's JSON.
    pub raw: Value,
    /// Why it did not decode: the path of the first field at fault and what was wrong.
    pub reason: String,
    /// Its position in the list the server sent (decoded items included).
    #[serde(default)]
    pub index: usize,
}

impl Undecoded {
    /// A string field of the item (e.g. `service_id`), when it has one.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.raw.get(name).and_then(Value::as_str)
    }
}

impl fmt::Debug for Undecoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&str> = self
            .raw
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        f.debug_struct("Undecoded")
            .field("keys", &keys)
            .field("reason", &self.reason)
            .finish()
    }
}

/// Decodes `value` as `T`, naming the path of the field at fault on failure.
pub(crate) fn decode<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        let why = without_values(&e.into_inner().to_string());
        if path == "." {
            why
        } else {
            format!("{path}: {why}")
        }
    })
}

/// A serde message without the values it quotes (`invalid type: string "hunter2", expected
/// u32` becomes `invalid type: string, expected u32`): a reason must not carry a password.
fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(" \"") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        rest = after.find('"').map_or("", |end| &after[end + 1..]);
    }
    out.push_str(rest);
    out
}

/// A JSON array, each item decoded on its own: (decoded, undecoded).
pub(crate) fn list<'de, D, T>(d: D) -> Result<(Vec<T>, Vec<Undecoded>), D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let raw = Vec::<Value>::deserialize(d)?;
    let mut items = Vec::with_capacity(raw.len());
    let mut undecoded = Vec::new();
    for (index, value) in raw.into_iter().enumerate() {
        match decode(&value) {
            Ok(item) => items.push(item),
            Err(reason) => undecoded.push(Undecoded {
                raw: value,
                reason,
                index,
            }),
        }
    }
    Ok((items, undecoded))
}

/// Decoded items, then the undecoded ones as they came: one JSON array again.
pub(crate) fn serialize_list<S: Serializer, T: Serialize>(
    items: &[T],
    undecoded: &[Undecoded],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(items.len() + undecoded.len()))?;
    for item in items {
        seq.serialize_element(item)?;
    }
    for item in undecoded {
        seq.serialize_element(&item.raw)?;
    }
    seq.end()
}

/// An inferred field: `None` when it is absent, null or in a shape `T` does not read.
pub(crate) fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = Value::deserialize(d)?;
    Ok(T::deserialize(value).ok())
}

/// A cursor: a non-empty string is the next page's, anything else (absent, null, empty, not a
/// string) means the last page.
pub(crate) fn cursor<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(match value {
        Value::String(s) if !s.is_empty() => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// Decoded and undecoded items, serialized as one array.
pub(crate) struct Items<'a, T>(pub(crate) &'a [T], pub(crate) &'a [Undecoded]);

impl<T: Serialize> Serialize for Items<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_list(self.0, self.1, s)
    }
}

/// `Deserialize` and `Serialize` for a list payload, `{"<field>": [...]}` plus `next_cursor`
/// for a page: the items that decode go in the field, the others in `undecoded` ([`list`]);
/// serialized back as one array. `["alias", ..]` names other spellings of the field.
///
/// `list_payload!(LogPage { logs: LogEntry ["entries"], next_cursor });`
macro_rules! list_payload {
    ($ty:ident { $field:ident: $item:ty $([$($alias:literal),*])? $(, $cursor:ident)? }) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(serde::Deserialize)]
                struct Wire {
                    $($(#[serde(alias = $alias)])*)?
                    #[serde(deserialize_with = "crate::types::tolerant::list")]
                    $field: (Vec<$item>, Vec<crate::types::tolerant::Undecoded>),
                    $(
                        #[serde(default, deserialize_with = "crate::types::tolerant::cursor")]
                        $cursor: Option<String>,
                    )?
                }
                let Wire {
                    $field: ($field, undecoded),
                    $($cursor,)?
                } = <Wire as serde::Deserialize>::deserialize(d)?;
                Ok(Self {
                    $field,
                    undecoded,
                    $($cursor,)?
                })
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                #[derive(serde::Serialize)]
                struct Wire<'a> {
                    $field: crate::types::tolerant::Items<'a, $item>,
                    $($cursor: &'a Option<String>,)?
                }
                serde::Serialize::serialize(
                    &Wire {
                        $field: crate::types::tolerant::Items(&self.$field, &self.undecoded),
                        $($cursor: &self.$cursor,)?
                    },
                    s,
                )
            }
        }
    };
}
pub(crate) use list_payload;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Item {
        #[allow(dead_code)]
        n: u32,
    }

    #[test]
    fn one_bad_item_does_not_fail_the_list() {
        #[derive(serde::Deserialize)]
        struct L(#[serde(deserialize_with = "list")] (Vec<Item>, Vec<Undecoded>));
        let L((ok, bad)) =
            serde_json::from_str(r#"[{"n":1},{"n":"x","password":"pw"},{"n":3}]"#).unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].reason, "n: invalid type: string, expected u32");
        let shown = format!("{:?}", bad[0]);
        assert!(
            shown.contains("password") && !shown.contains("\"pw\""),
            "{shown}"
        );
        // A list that is not an array is still an error: the docs show an array.
        assert!(serde_json::from_str::<L>(r#"{"n":1}"#).is_err());
    }

    #[test]
    fn cursors_end_on_anything_but_a_string() {
        #[derive(serde::Deserialize)]
        struct P {
            #[serde(default, deserialize_with = "cursor")]
            next_cursor: Option<String>,
        }
        let read = |t: &str| serde_json::from_str::<P>(t).unwrap().next_cursor;
        assert_eq!(read(r#"{"next_cursor":"abc"}"#).as_deref(), Some("abc"));
        for end in [
            r#"{}"#,
            r#"{"next_cursor":null}"#,
            r#"{"next_cursor":""}"#,
            r#"{"next_cursor":false}"#,
        ] {
            assert_eq!(read(end), None, "{end}");
        }
    }
}
