//! Generates the raw OP-Proxy client from the vendored OpenAPI 3.1 document.
//!
//! spec/openapi.json (3.1) -> down-level to 3.0 in memory -> progenitor -> $OUT_DIR/generated.rs,
//! and the operation table, rate-limit buckets and enums -> $OUT_DIR/items.rs.
//! Anything 3.0 cannot express stops the build with a message naming its JSON pointer.

use std::{env, fs, path::PathBuf};

const SPEC: &str = "spec/openapi.json";

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build.rs");
    let spec = match fs::read_to_string(SPEC) {
        Ok(text) => text,
        Err(e) => fail(&format!("cannot read {SPEC}: {e}")),
    };
    let generated = match opx_codegen::generate(&spec, opx_codegen::INNER_TYPE) {
        Ok(generated) => generated,
        Err(e) => fail(&format!("{SPEC}: {e}")),
    };
    // Notes are lossless edits (metadata 3.0 has no field for); shown on request.
    println!("cargo:rerun-if-env-changed=OPX_BUILD_VERBOSE");
    if env::var_os("OPX_BUILD_VERBOSE").is_some() {
        for note in &generated.notes {
            build_print::info!("{SPEC}#{note}");
        }
    }
    let dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for (name, code) in [
        ("generated.rs", generated.code),
        ("items.rs", generated.items),
    ] {
        let out = dir.join(name);
        if let Err(e) = fs::write(&out, code) {
            fail(&format!("cannot write {}: {e}", out.display()));
        }
    }
}

fn fail(message: &str) -> ! {
    build_print::error!("{message}");
    std::process::exit(1);
}
