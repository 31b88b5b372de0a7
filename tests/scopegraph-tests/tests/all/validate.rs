//! The artifacts the tests check, checked by the tools their users' systems
//! would apply: parliament for IAM policies, `kubernetes-validate` (PyPI; the API server's OpenAPI
//! schemas, strict) for Kubernetes YAML, and the OCI schema plus libseccomp
//! itself (through `pyseccomp`) for seccomp profiles. `.ci/run` installs them.

use std::io::Write;
use std::process::{Command, Stdio};

const SECCOMP_SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/oci-seccomp.schema.json"
);

/// Every document of `yaml` against the Kubernetes 1.37 schemas, rejecting
/// unknown fields. Panics with the validator's words when it objects.
pub fn kubernetes_yaml(yaml: &str) {
    let file = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    std::fs::write(file.path(), yaml).unwrap();
    let out = Command::new("python3")
        .args(["-m", "kubernetes_validate", "--strict", "--quiet"])
        .arg(file.path())
        .output()
        .expect("python3 runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !said.contains("No module named"),
        "kubernetes-validate is needed (python3 -m pip install kubernetes-validate): {said}"
    );
    assert!(
        out.status.success(),
        "kubernetes-validate rejects:\n{yaml}\n{said}"
    );
}

/// Validate a seccomp profile against the OCI schema, then compile it with
/// libseccomp for its architectures. Returns the system call names
/// libseccomp does not know on this machine's architecture.
pub fn seccomp_profile(json: &str) -> Vec<String> {
    let script = r#"
import json, sys
import jsonschema
import pyseccomp as seccomp

schema = json.load(open(sys.argv[1]))
profile = json.load(sys.stdin)
jsonschema.validate(profile, schema)
errno = profile.get("defaultErrnoRet", 1)
default = {"SCMP_ACT_ERRNO": seccomp.ERRNO(errno), "SCMP_ACT_KILL": seccomp.KILL,
           "SCMP_ACT_LOG": seccomp.LOG}[profile["defaultAction"]]
rules = seccomp.SyscallFilter(default)
native = seccomp.system_arch()
for arch in profile.get("architectures", []):
    arch = getattr(seccomp.Arch, arch.removeprefix("SCMP_ARCH_"))
    if arch != native:
        rules.add_arch(arch)
unknown = []
for rule in profile["syscalls"]:
    assert rule["action"] == "SCMP_ACT_ALLOW", rule["action"]
    for name in rule["names"]:
        if seccomp.resolve_syscall(native, name) == -1:
            unknown.append(name)
        else:
            rules.add_rule(seccomp.ALLOW, name)
with open("/dev/null", "wb") as bpf:
    rules.export_bpf(bpf)
print(json.dumps(unknown))
"#;
    let mut child = Command::new("python3")
        .args(["-c", script, SECCOMP_SCHEMA])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(json.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the seccomp profile does not validate or compile (needs python3 -m pip install jsonschema pyseccomp): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Lint an IAM policy with parliament (duo-labs, PyPI; `.ci/run` installs
/// it): the IAM grammar, and every action checked against AWS's catalogue.
pub fn iam_policy(policy: &str) -> String {
    let script = "import sys, json\n\
                  from parliament import analyze_policy_string\n\
                  found = analyze_policy_string(sys.stdin.read()).findings\n\
                  print(json.dumps([[f.issue, str(f.detail)] for f in found]))";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(policy.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "parliament is needed (python3 -m pip install parliament): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
