//! The config file's parsing and checks.

use super::file::expand;
use super::*;
use std::path::Path;

fn parse(text: &str) -> Result<File, toml::de::Error> {
    toml::from_str(text)
}

/// Why `check_profile` refuses the one profile of the config file `text`.
fn refusal(text: &str) -> String {
    let file = parse(text).unwrap();
    let raw = file.profiles.into_iter().next().unwrap().1;
    check_profile("p", "--profile", raw, None)
        .unwrap_err()
        .to_string()
}

#[test]
fn a_token_literal_is_refused_without_being_shown() {
    let secret = "opx_live_0123456789abcdef0123456789abcdef";
    let e = refusal(&format!("[profiles.p]\ntoken = \"{secret}\"\n"));
    assert!(e.contains("`token`") && e.contains("token_env"), "{e}");
    assert!(!e.contains(secret), "{e}");
    for (key, value) in [("token_env", secret), ("token_file", secret)] {
        let e = refusal(&format!("[profiles.p]\n{key} = \"{value}\"\n"));
        assert!(e.contains("looks like a token"), "{e}");
        assert!(!e.contains(secret), "{e}");
    }
}

#[test]
fn one_token_source_and_a_variable_name() {
    let e = refusal("[profiles.p]\ntoken_env = \"A\"\ntoken_file = \"/x\"\n");
    assert!(e.contains("not both"), "{e}");
    let e = refusal("[profiles.p]\ntoken_env = \"NOT A NAME\"\n");
    assert!(e.contains("not an environment variable name"), "{e}");
    let e = refusal("[profiles.p]\napi_key = \"opx_live_x\"\n");
    assert!(
        e.contains("unknown key \"api_key\"") && !e.contains("opx_live_x"),
        "{e}"
    );
    assert!(
        parse("api_key = 1\n").is_err(),
        "unknown top-level keys are refused"
    );
}

#[test]
fn relative_token_files_are_next_to_the_config_file() {
    let config = Path::new("/etc/opx/config.toml");
    assert_eq!(
        expand(Path::new("t.token"), Some(config)),
        PathBuf::from("/etc/opx/t.token")
    );
    assert_eq!(
        expand(Path::new("/abs/t"), Some(config)),
        PathBuf::from("/abs/t")
    );
    if let Some(home) = dirs::home_dir() {
        assert_eq!(expand(Path::new("~/t"), Some(config)), home.join("t"));
    }
}

#[test]
fn the_token_is_never_in_debug() {
    let t = Token("opx_live_0123456789abcdef0123456789abcdef".into());
    assert_eq!(format!("{t:?}"), "Token(<redacted>)");
}

#[test]
fn a_fingerprint_tells_keys_apart_and_never_gives_one_away() {
    let t = Token("opx_live_0123456789abcdef0123456789abab12".into());
    assert_eq!(t.fingerprint(), "opx_live_…ab12");
    // Without a prefix, or a short token: at most two characters of a token of 8 to 16.
    assert_eq!(Token("0123456789abcdef0123".into()).fingerprint(), "…0123");
    assert_eq!(Token("short_12345678".into()).fingerprint(), "short_…78");
    assert_eq!(Token("abc".into()).fingerprint(), "…");
    // A long "prefix" is not a prefix: it would show most of the secret.
    let long = Token("averyveryverylongsecretpart_abcdefghij".into());
    assert_eq!(long.fingerprint(), "…ghij");
    // Never panics on multi-byte characters.
    assert_eq!(
        Token("ключ_ключключключключ".into()).fingerprint(),
        "ключ_…ключ"
    );
}
