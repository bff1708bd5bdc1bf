//! `opx man DIR`: a man page for `opx` and one for each command, from the same clap definition
//! as `--help` (clap_mangen), so they cannot drift from it.

use std::path::PathBuf;

use crate::failure::Failure;

/// `opx man`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  # Install the pages for your user, then read one
  opx man ~/.local/share/man/man1
  man opx-renew
  # Into a packaging directory
  opx man target/man")]
pub struct ManArgs {
    /// The directory to write the pages into (created if missing), e.g. ~/.local/share/man/man1.
    pub dir: PathBuf,
}

/// Writes `opx.1` and `opx-<command>.1` (nested commands joined with `-`) into the directory;
/// prints the pages the directory then holds.
pub fn run(args: ManArgs) -> Result<(), Failure> {
    let dir = &args.dir;
    let failed = |e: std::io::Error| Failure::Other(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(failed)?;
    let root = <crate::commands::Cli as clap::CommandFactory>::command();
    clap_mangen::generate_to(root, dir).map_err(failed)?;
    let mut pages: Vec<String> = std::fs::read_dir(dir)
        .map_err(failed)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.starts_with("opx") && name.ends_with(".1")
        })
        .map(|p| p.display().to_string())
        .collect();
    pages.sort();
    crate::output::print(&format!("{}\n", pages.join("\n")))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every command, nested ones too, has its page, and each page carries the command's options
    /// as `--help` shows them.
    #[test]
    fn every_command_has_a_page_with_its_options() {
        let dir = tempfile::tempdir().unwrap();
        super::run(super::ManArgs {
            dir: dir.path().join("man1"),
        })
        .unwrap();
        fn walk(cmd: &clap::Command, name: &str, dir: &std::path::Path) {
            let page = std::fs::read_to_string(dir.join(format!("{name}.1")))
                .unwrap_or_else(|e| panic!("{name}.1: {e}"));
            assert!(page.starts_with(".ie") || page.contains(".TH"), "{name}.1");
            for arg in cmd.get_arguments().filter_map(|a| a.get_long()) {
                // ROFF writes a hyphen as `\-`.
                let roff = format!("\\-\\-{}", arg.replace('-', "\\-"));
                assert!(page.contains(&roff), "{name}.1 lacks --{arg}");
            }
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                walk(sub, &format!("{name}-{}", sub.get_name()), dir);
            }
        }
        let mut root = crate::commands::Cli::command();
        root.build();
        walk(&root, "opx", &dir.path().join("man1"));
    }
}
