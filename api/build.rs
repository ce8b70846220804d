//! Embeds the explorer's built assets (`explorer/dist`, made by `make explorer`) into the
//! binary: writes `$OUT_DIR/explorer_assets.rs`, a list of `(path, bytes)` that
//! `src/explorer.rs` serves. Without a build it embeds one page saying how to make it, so that
//! `cargo build` and `cargo clippy` still work on a fresh clone.

use std::error::Error;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn Error>> {
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").ok_or("no CARGO_MANIFEST_DIR")?);
    let dist = manifest.join("../explorer/dist");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("no OUT_DIR")?);
    println!("cargo:rerun-if-changed={}", dist.display());

    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        collect(&dist, &dist, &mut files)?;
    } else {
        println!(
            "cargo:warning=explorer/dist is not built: the node will serve a page saying so (run `make explorer`)"
        );
        let page = out.join("explorer-missing.html");
        std::fs::write(
            &page,
            "<!doctype html><meta charset=utf-8><title>Ordo explorer</title>\
             <p>The explorer's assets were not built into this binary. Run <code>make explorer</code> \
             (or <code>make</code>), then rebuild the node. The JSON API is at <a href=/v1/status>/v1/status</a>.</p>",
        )?;
        files.push(("index.html".to_owned(), page));
    }
    files.sort();

    let mut code = String::from("&[\n");
    for (path, file) in &files {
        code.push_str(&format!(
            "    ({path:?}, include_bytes!({:?}) as &[u8]),\n",
            file.display().to_string()
        ));
    }
    code.push_str("]\n");
    std::fs::write(out.join("explorer_assets.rs"), code)?;
    Ok(())
}

/// Every file under `dir`, with its path relative to `root` (`/`-separated).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, files)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            let name: Vec<_> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            files.push((name.join("/"), path));
        }
    }
    Ok(())
}
