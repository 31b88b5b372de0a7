//! What the end-to-end tests share: the demo organisation and a whole
//! `audit` with artifacts.

use std::path::Path;

/// The snapshot `scopegraph demo` audits.
pub const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/demo-org");

/// Copy a snapshot into a scratch directory the test can add logs to.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `scopegraph audit DIR --format json --artifacts DIR/artifacts-out` at a
/// fixed `--now`; the exit code must be 0 (complete, nothing at `--fail-on`).
pub fn audit_dir(dir: &Path, cache: &Path) -> serde_json::Value {
    let artifacts = dir.join("artifacts-out");
    let args = [
        "scopegraph",
        "--cache-dir",
        cache.to_str().unwrap(),
        "audit",
        dir.to_str().unwrap(),
        "--format",
        "json",
        "--now",
        "2026-11-20T00:00:00Z",
        "--artifacts",
        artifacts.to_str().unwrap(),
    ];
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = scopegraph_cli::run(args, &mut out, &mut err);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    serde_json::from_slice(&out).unwrap()
}

/// Every `.sh` file under `dir`, each checked to parse with `bash -n`.
pub fn scripts_that_parse(dir: &Path) -> Vec<String> {
    let mut scripts = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "sh") {
                assert_parses_as_shell(&path);
                scripts.push(path.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    scripts.sort();
    scripts
}

/// `bash -n` accepts the script at `path`.
pub fn assert_parses_as_shell(path: &Path) {
    let syntax = std::process::Command::new("bash")
        .arg("-n")
        .arg(path)
        .output()
        .unwrap();
    assert!(
        syntax.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&syntax.stderr)
    );
}

/// A JSON array of strings, as `&str`s (the test fails on anything else).
pub fn strings(value: &serde_json::Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item.as_str().unwrap())
        .collect()
}

/// Runs the script at `path` with an `az` on the `PATH` that only records
/// its arguments (and prints nothing, so look-ups find nothing): the
/// argument vectors of its calls, in order. The script must succeed.
pub fn az_calls(path: &Path) -> Vec<Vec<String>> {
    tool_calls("az", path)
}

/// Runs the script at `path` with a `gcloud` on the `PATH` that only
/// records its arguments and succeeds (so `gcloud iam roles describe`
/// finds the role): the argument vectors of its calls, in order. The
/// script must succeed.
pub fn gcloud_calls(path: &Path) -> Vec<Vec<String>> {
    tool_calls("gcloud", path)
}

fn tool_calls(tool: &str, path: &Path) -> Vec<Vec<String>> {
    use std::os::unix::fs::PermissionsExt;
    let bin = tempfile::tempdir().unwrap();
    let stub = bin.path().join(tool);
    // Each argument NUL-terminated, each call ended by a newline.
    std::fs::write(
        &stub,
        "#!/usr/bin/env bash\nprintf '%s\\0' \"$@\" >> \"$TOOL_CALLS\"\nprintf '\\n' >> \"$TOOL_CALLS\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let calls = bin.path().join("calls");
    std::fs::write(&calls, "").unwrap();
    let path_var = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = std::process::Command::new("bash")
        .arg(path)
        .env("PATH", path_var)
        .env("TOOL_CALLS", &calls)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read_to_string(&calls)
        .unwrap()
        .split_terminator("\0\n")
        .map(|call| call.split('\0').map(String::from).collect())
        .collect()
}
