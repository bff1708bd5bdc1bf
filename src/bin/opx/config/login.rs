//! Tokens stored by `opx auth login`: the secret in the OS keychain (through the `keyring`
//! crate), or, where there is none (a Linux server or CI without the Secret Service), in a file
//! readable by its owner alone; and beside it, in the same private file, which base URL each
//! login's token belongs to and where its secret is.
//!
//! ```json
//! // <config dir>/opx/auth.json (mode 600)
//! {"logins": {"default": {"base_url": "https://op-proxy.com/api/v1", "store": "keychain"},
//!             "local":   {"base_url": "http://127.0.0.1:8080/api/v1", "store": "file",
//!                         "token": "..."}}}
//! ```
//!
//! A login is named after the profile it was made with (`default` without one).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
};

use serde::{Deserialize, Serialize};

use super::token::Token;
use crate::failure::Failure;

/// `0`, `off` or `file`: never use the OS keychain (the token goes to the private file).
pub const KEYRING_ENV: &str = "OPX_KEYRING";
/// The keychain entries' service name (their user name is the login's name).
const SERVICE: &str = "opx";
/// The file's name inside `<config dir>/opx/`.
const FILE_NAME: &str = "auth.json";

/// Where a login's secret is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// The OS keychain.
    Keychain,
    /// The private file itself.
    File,
}

/// One login as the file records it.
#[derive(Serialize, Deserialize)]
struct Record {
    base_url: String,
    store: StoreKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

/// The file: every login by name.
#[derive(Default, Serialize, Deserialize)]
struct AuthFile {
    #[serde(default)]
    logins: BTreeMap<String, Record>,
}

/// A stored login: its name, the base URL its token belongs to, where the secret is, the token.
#[derive(Debug)]
pub struct Login {
    /// The profile it was made with, or `default`.
    pub name: String,
    /// The only base URL its token is sent to (unless `--base-url` says otherwise).
    pub base_url: String,
    /// Where the secret is.
    pub store: StoreKind,
    /// The secret.
    pub token: Token,
}

impl Login {
    /// Where the token comes from, as `opx config` and `opx auth status` say it.
    pub fn source(&self, file: &Path) -> String {
        match self.store {
            StoreKind::Keychain => format!("OS keychain (login {})", self.name),
            StoreKind::File => format!("file {} (login {})", file.display(), self.name),
        }
    }
}

/// The OS keychain, or none (then tokens go to the file); reached on its first use only.
pub struct Keychain {
    /// The store, or why there is none (`OPX_KEYRING`, or the platform's store's error).
    store: std::cell::OnceCell<Result<Arc<keyring_core::CredentialStore>, String>>,
}

impl Keychain {
    /// The platform's keychain unless `OPX_KEYRING` turns it off.
    pub fn platform() -> Self {
        Self {
            store: std::cell::OnceCell::new(),
        }
    }

    /// Whether `OPX_KEYRING` turns the keychain off.
    pub fn turned_off() -> bool {
        std::env::var(KEYRING_ENV)
            .is_ok_and(|v| matches!(v.trim(), "0" | "off" | "file" | "false" | "no"))
    }

    /// A keychain on this store (keyring-core's mock store, in tests), or none.
    #[cfg(test)]
    pub fn with_store(store: Option<Arc<keyring_core::CredentialStore>>) -> Self {
        Self {
            store: std::cell::OnceCell::from(store.ok_or_else(|| "none in this test".to_owned())),
        }
    }

    fn store(&self) -> Result<&Arc<keyring_core::CredentialStore>, &str> {
        self.store
            .get_or_init(|| {
                if Self::turned_off() {
                    return Err(format!("{KEYRING_ENV} is set"));
                }
                if let Err(e) = keyring::Entry::store_status() {
                    return Err(format!("there is no OS keychain here ({})", describe(e)));
                }
                keyring_core::get_default_store()
                    .ok_or_else(|| "there is no OS keychain here".to_owned())
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// Why tokens go to the file, when there is no keychain.
    pub fn absent(&self) -> Option<&str> {
        self.store().err()
    }

    fn entry(&self, name: &str) -> Result<Option<keyring_core::Entry>, String> {
        let Ok(store) = self.store() else {
            return Ok(None);
        };
        keyring_core::Entry::new_in_store(store, SERVICE, name)
            .map(Some)
            .map_err(|e| describe(&e))
    }

    /// Stores the token: `Ok(false)` when there is no keychain, `Err` when it refused.
    fn set(&self, name: &str, token: &str) -> Result<bool, String> {
        match self.entry(name)? {
            None => Ok(false),
            Some(entry) => entry
                .set_password(token)
                .map(|()| true)
                .map_err(|e| describe(&e)),
        }
    }

    fn get(&self, name: &str) -> Result<String, String> {
        match self.entry(name)? {
            None => Err(self.absent().unwrap_or("no OS keychain").to_owned()),
            Some(entry) => entry.get_password().map_err(|e| describe(&e)),
        }
    }

    fn delete(&self, name: &str) -> Result<(), String> {
        match self.entry(name)? {
            None => Err(self.absent().unwrap_or("no OS keychain").to_owned()),
            Some(entry) => match entry.delete_credential() {
                Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
                Err(e) => Err(describe(&e)),
            },
        }
    }
}

/// A keychain error in words, without any data it carries (a secret's bytes, its entries).
fn describe(e: &keyring_core::Error) -> String {
    use keyring_core::Error as E;
    match e {
        E::PlatformFailure(p) => format!("the keychain failed: {p}"),
        E::NoStorageAccess(p) => format!("the keychain cannot be reached: {p}"),
        E::NoEntry => "the keychain has no such entry".to_owned(),
        E::BadEncoding(_) | E::BadDataFormat(..) => {
            "the keychain's entry is not a token (not UTF-8 text)".to_owned()
        }
        E::Ambiguous(items) => format!("the keychain holds {} matching entries", items.len()),
        E::NoDefaultStore => "no keychain store could be set up".to_owned(),
        other => format!("the keychain refused: {other}"),
    }
}

/// The file of logins: `<config dir>/opx/auth.json`.
pub fn file_path() -> Result<PathBuf, Failure> {
    dirs::config_dir()
        .map(|d| d.join("opx").join(FILE_NAME))
        .ok_or_else(|| {
            Failure::Usage(
                "no config directory is known here (set HOME or XDG_CONFIG_HOME) to keep logins in"
                    .to_owned(),
            )
        })
}

fn read(path: &Path) -> Result<AuthFile, Failure> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(AuthFile::default()),
        Err(e) => {
            return Err(Failure::Usage(format!(
                "cannot read the logins file {}: {e}",
                path.display()
            )));
        }
    };
    super::token::check_private("login", path)?;
    // serde_json's message names a line and column, never the text there.
    serde_json::from_str(&text).map_err(|e| {
        Failure::Usage(format!(
            "the logins file {} is not what `opx auth login` writes ({e}); remove it and log in again",
            path.display()
        ))
    })
}

/// Writes the file whole, private from its creation (mode 600 on Unix), through a temporary
/// file renamed over it.
fn write(path: &Path, file: &AuthFile) -> Result<(), Failure> {
    let fail = |e: std::io::Error| {
        Failure::Other(format!(
            "cannot write the logins file {}: {e}",
            path.display()
        ))
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let text = serde_json::to_string_pretty(file).map_err(|e| Failure::Other(e.to_string()))?;
    let tmp = path.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    {
        use std::io::Write;
        let mut f = options.open(&tmp).map_err(fail)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(fail)?;
        }
        f.write_all(text.as_bytes()).map_err(fail)?;
        f.write_all(b"\n").map_err(fail)?;
        f.sync_all().map_err(fail)?;
    }
    std::fs::rename(&tmp, path).map_err(fail)
}

/// The stored login `name`, if any: its token read from the keychain or the file.
pub fn load(path: &Path, keychain: &Keychain, name: &str) -> Result<Option<Login>, Failure> {
    let mut file = read(path)?;
    let Some(record) = file.logins.remove(name) else {
        return Ok(None);
    };
    let token = match record.store {
        StoreKind::File => record
            .token
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "login {name:?} in {} has no token; run `opx auth login` again",
                    path.display()
                ))
            })?,
        StoreKind::Keychain => keychain.get(name).map_err(|why| {
            Failure::Usage(format!(
                "login {name:?}: its token is in the OS keychain, which cannot give it ({why}); \
                 run `opx auth login` again"
            ))
        })?,
    };
    Ok(Some(Login {
        name: name.to_owned(),
        base_url: record.base_url,
        store: record.store,
        token: Token(token),
    }))
}

/// Stores `token` as login `name` for `base_url`: in the keychain when there is one that takes
/// it, else in the file. Returns where it went and, when the keychain refused, why.
pub fn save(
    path: &Path,
    keychain: &Keychain,
    name: &str,
    base_url: &str,
    token: &Token,
) -> Result<(StoreKind, Option<String>), Failure> {
    let mut file = read(path)?;
    let (store, why) = match keychain.set(name, token.expose()) {
        Ok(true) => (StoreKind::Keychain, None),
        Ok(false) => (StoreKind::File, None),
        Err(why) => (StoreKind::File, Some(why)),
    };
    file.logins.insert(
        name.to_owned(),
        Record {
            base_url: base_url.to_owned(),
            store,
            token: (store == StoreKind::File).then(|| token.expose().to_owned()),
        },
    );
    write(path, &file)?;
    Ok((store, why))
}

/// Forgets login `name` (its keychain entry and its record). `Ok(None)` when there was none.
pub fn remove(path: &Path, keychain: &Keychain, name: &str) -> Result<Option<String>, Failure> {
    let mut file = read(path)?;
    let Some(record) = file.logins.remove(name) else {
        return Ok(None);
    };
    if record.store == StoreKind::Keychain {
        keychain.delete(name).map_err(|why| {
            Failure::Other(format!(
                "login {name:?}: could not delete its token from the OS keychain ({why}); \
                 nothing was changed"
            ))
        })?;
    }
    write(path, &file)?;
    Ok(Some(record.base_url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("opx").join(FILE_NAME);
        (dir, path)
    }

    const SECRET: &str = "opx_live_0123456789abcdef0123456789abcdef";

    /// Saves [`SECRET`] as login `default` for `base_url`: where it went, and why not the
    /// keychain.
    fn save_secret(
        path: &Path,
        keychain: &Keychain,
        base_url: &str,
    ) -> (StoreKind, Option<String>) {
        save(path, keychain, "default", base_url, &Token(SECRET.into())).unwrap()
    }

    #[test]
    fn with_a_keychain_the_secret_is_there_and_not_in_the_file() {
        let (_dir, path) = temp();
        let keychain = Keychain::with_store(Some(keyring_core::mock::Store::new().unwrap()));
        let (store, why) = save_secret(&path, &keychain, "https://op-proxy.com/api/v1");
        assert_eq!((store, why), (StoreKind::Keychain, None));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(SECRET), "{text}");
        assert!(text.contains("\"keychain\""), "{text}");
        let login = load(&path, &keychain, "default").unwrap().unwrap();
        assert_eq!(login.token.expose(), SECRET);
        assert_eq!(login.base_url, "https://op-proxy.com/api/v1");
        assert_eq!(login.source(&path), "OS keychain (login default)");
        assert!(!format!("{login:?}").contains(SECRET));
        assert_eq!(
            remove(&path, &keychain, "default").unwrap().as_deref(),
            Some("https://op-proxy.com/api/v1")
        );
        assert_eq!(
            keychain.get("default").unwrap_err(),
            "the keychain has no such entry"
        );
        assert!(remove(&path, &keychain, "default").unwrap().is_none());
        assert!(load(&path, &keychain, "default").unwrap().is_none());
    }

    #[test]
    fn a_refusing_keychain_falls_back_to_the_private_file_and_says_why() {
        let (_dir, path) = temp();
        let store: Arc<keyring_core::CredentialStore> = keyring_core::mock::Store::new().unwrap();
        let keychain = Keychain::with_store(Some(store.clone()));
        // The next call on this entry fails as a locked or unreachable keychain does.
        let entry = keyring_core::Entry::new_in_store(&store, SERVICE, "default").unwrap();
        let mock: &keyring_core::mock::Cred = entry.as_any().downcast_ref().unwrap();
        mock.set_error(keyring_core::Error::NoStorageAccess(
            "no session bus".to_owned().into(),
        ));
        let (kind, why) = save_secret(&path, &keychain, "http://127.0.0.1:1/api/v1");
        assert_eq!(kind, StoreKind::File);
        assert_eq!(
            why.as_deref(),
            Some("the keychain cannot be reached: no session bus")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let login = load(&path, &keychain, "default").unwrap().unwrap();
        assert_eq!(login.token.expose(), SECRET);
        assert_eq!(login.store, StoreKind::File);
        assert!(!format!("{login:?}").contains(SECRET));
        assert!(load(&path, &keychain, "other").unwrap().is_none());
        // With no keychain at all (OPX_KEYRING=0, or none on the platform): the file, silently.
        let none = Keychain::with_store(None);
        let (kind, why) = save(
            &path,
            &none,
            "work",
            "https://op-proxy.com/api/v1",
            &Token("t2".into()),
        )
        .unwrap();
        assert_eq!((kind, why), (StoreKind::File, None));
    }

    #[test]
    fn a_logins_file_others_can_read_is_refused() {
        let (_dir, path) = temp();
        let none = Keychain::with_store(None);
        save_secret(&path, &none, "https://op-proxy.com/api/v1");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = load(&path, &none, "default").unwrap_err().to_string();
            assert!(e.contains("chmod 600"), "{e}");
            assert!(!e.contains(SECRET), "{e}");
        }
    }
}
