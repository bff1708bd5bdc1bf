//! (i) A user's clean debug build: a small program that calls `GET /account` through `opx`
//! (default features), beside the same program on bare reqwest + serde, each built from
//! nothing (`cargo build`, a fresh target directory, the crates from the local registry cache,
//! versions pinned by this workspace's `Cargo.lock`), interleaved. Wall time is what the user
//! waits; the CPU time of the build (its children's) is beside it, as the shared cores make
//! the wall time noisy. Only when asked for by name (`cargo xtask bench i`): minutes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::support::{Opts, Row, Target, median, variant_rows};

const ON_OPX: &str = r#"
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = opx::Client::from_env()?;
    let account = client.account().await?;
    println!("{} {}", account.balance, account.currency);
    Ok(())
}
"#;

const ON_REQWEST: &str = r#"
#[derive(serde::Deserialize)]
struct Envelope { data: Account }
#[derive(serde::Deserialize)]
struct Account { balance: i64, currency: String }

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let token = std::env::var("OPX_TOKEN")?;
    let base = std::env::var("OPX_BASE_URL").unwrap_or("https://op-proxy.com/api/v1".into());
    let body: Envelope = reqwest::Client::new()
        .get(format!("{base}/account"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    println!("{} {}", body.data.balance, body.data.currency);
    Ok(())
}
"#;

/// The two programs as the rows name them, on `opx` first, on bare reqwest + serde (the floor)
/// last.
const PROGRAMS: [&str; 2] = [
    "a program on `opx` (default features)",
    "the same program on bare reqwest + serde",
];

/// A package `name` in `dir` with these dependencies and `main.rs`, locked like the workspace.
fn package(dir: &Path, name: &str, deps: &str, main: &str) -> PathBuf {
    let root = dir.join(name);
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n{deps}\n[workspace]\n"
    );
    std::fs::write(root.join("Cargo.toml"), manifest).expect("write manifest");
    std::fs::write(root.join("src/main.rs"), main).expect("write main.rs");
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock");
    std::fs::copy(lock, root.join("Cargo.lock")).expect("copy Cargo.lock");
    root
}

/// CPU time (user + system) of this process's waited-for children so far, in seconds.
fn children_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the `(comm)`: state is field 3; cutime and cstime are fields 16 and 17.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // CLK_TCK is 100 on Linux.
    (f.get(13).copied().unwrap_or(0.0) + f.get(14).copied().unwrap_or(0.0)) / 100.0
}

/// A clean build of `root` into a fresh target directory: (wall s, CPU s).
fn clean_build(root: &Path, target: &Path) -> (f64, f64) {
    let _ = std::fs::remove_dir_all(target);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let cpu = children_cpu();
    let t = Instant::now();
    let out = Command::new(cargo)
        .current_dir(root)
        .args(["build", "--offline", "--quiet"])
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_RUSTC_WRAPPER")
        .output()
        .expect("run cargo build");
    let wall = t.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "build of {} failed: {}",
        root.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    (wall, children_cpu() - cpu)
}

pub fn case_i(opts: &Opts, rows: &mut Vec<Row>) {
    let rounds = opts.pick(1, 2);
    let dir = tempfile::tempdir().expect("temp dir");
    let opx_dep = format!(
        "opx = {{ path = {:?} }}\ntokio = {{ version = \"1\", features = [\"macros\", \"rt\"] }}\n",
        env!("CARGO_MANIFEST_DIR")
    );
    let reqwest_dep = "reqwest = { version = \"0.13\", features = [\"json\"] }\n\
        serde = { version = \"1\", features = [\"derive\"] }\n\
        tokio = { version = \"1\", features = [\"macros\", \"rt\"] }\n";
    let on_opx = package(dir.path(), "on-opx", &opx_dep, ON_OPX);
    let on_reqwest = package(dir.path(), "on-reqwest", reqwest_dep, ON_REQWEST);
    let target = dir.path().join("target");
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        let order = if r % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for opx_turn in order {
            if opx_turn {
                a.push(clean_build(&on_opx, &target));
            } else {
                b.push(clean_build(&on_reqwest, &target));
            }
        }
    }
    let wall = |v: &[(f64, f64)]| median(&mut v.iter().map(|x| x.0).collect::<Vec<_>>());
    let cpu = |v: &[(f64, f64)]| median(&mut v.iter().map(|x| x.1).collect::<Vec<_>>());
    let (aw, ac, bw, bc) = (wall(&a), cpu(&a), wall(&b), cpu(&b));
    let (walls, cpus) = ([aw, bw], [ac, bc]);
    let runs = [format!("{rounds} build(s)"), "interleaved".to_owned()];
    variant_rows(
        "i",
        &walls,
        |i| format!("clean debug build, {}", PROGRAMS[i]),
        |i| format!("{:.1} s wall, {:.1} s CPU; {}", walls[i], cpus[i], runs[i]),
        Some(Target::AtMost(1.25)),
        rows,
    );
    rows.push(
        Row::new(
            "i",
            "clean debug build, CPU time opx / bare",
            format!("{ac:.1} s / {bc:.1} s"),
        )
        .ratio(ac / bc, None),
    );
}
