//! Embeds the example organisation (`examples/demo-org`) for `scopegraph demo`.

use std::{env, fs, path::Path};

fn main() {
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let root = Path::new(&manifest_dir).join("../../examples/demo-org");
    println!("cargo::rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let entries: Vec<String> = files
        .iter()
        .map(|(rel, abs)| format!("({rel:?}, include_str!({abs:?}))"))
        .collect();
    let out = Path::new(&env::var("OUT_DIR").unwrap_or_default()).join("demo_org.rs");
    if let Err(err) = fs::write(&out, format!("[{}]", entries.join(",\n"))) {
        println!("cargo::error=writing {}: {err}", out.display());
    }
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel = rel.to_string_lossy().replace('\\', "/");
            if rel != "README.md" {
                files.push((rel, path.display().to_string()));
            }
        }
    }
}
