//! The adapters shipped with the kit (`tests/clients/`), and how to get each one ready:
//! build it if it is compiled, or find its interpreter and packages. A client whose toolchain
//! is missing is skipped with the reason.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::adapter::AdapterSpec;

/// The clients the kit ships adapters for.
pub const NAMES: [&str; 5] = ["async-nats", "nats.go", "nats-py", "nats.js", "cnats"];

/// The folder holding the adapters' sources.
pub fn adapters_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients")
}

/// Gets the adapter of client `name` ready, building into `work` if needed; `Err` says why it
/// cannot run here (a missing toolchain or package).
///
/// `async_nats_bin` is the `skiff-kit-async-nats` program (built with this package).
pub fn prepare(name: &str, work: &Path, async_nats_bin: &Path) -> Result<AdapterSpec, String> {
    let dir = adapters_dir();
    let spec = |program: PathBuf, args: Vec<String>| AdapterSpec {
        name: name.to_owned(),
        program,
        args,
    };
    match name {
        "async-nats" => {
            if !async_nats_bin.exists() {
                return Err(format!("{} is not built", async_nats_bin.display()));
            }
            Ok(spec(async_nats_bin.to_owned(), Vec::new()))
        }
        "nats.go" => {
            let gopath = Path::new("/usr/share/gocode");
            if !succeeds(Command::new("go").arg("version")) {
                return Err("go is not installed".into());
            }
            if !gopath.join("src/github.com/nats-io/nats.go").exists() {
                return Err("golang-github-nats-io-go-nats-dev is not installed".into());
            }
            let src = work.join("gopath/src/kitadapter");
            std::fs::create_dir_all(&src).map_err(|e| e.to_string())?;
            std::fs::copy(dir.join("go/kitadapter/main.go"), src.join("main.go"))
                .map_err(|e| e.to_string())?;
            let binary = work.join("kitadapter-go");
            let out = Command::new("go")
                .args(["build", "-o"])
                .arg(&binary)
                .arg("kitadapter")
                .env("GO111MODULE", "off")
                .env(
                    "GOPATH",
                    format!("{}:{}", work.join("gopath").display(), gopath.display()),
                )
                .env("GOCACHE", work.join("gocache"))
                .output()
                .map_err(|e| e.to_string())?;
            if !out.status.success() {
                return Err(format!(
                    "go build failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            Ok(spec(binary, Vec::new()))
        }
        "nats-py" => {
            if !succeeds(Command::new("python3").args(["-c", "import nats"])) {
                return Err("python3 with nats-py is not installed".into());
            }
            Ok(spec(
                "python3".into(),
                vec![dir.join("python/kit_adapter.py").display().to_string()],
            ))
        }
        "nats.js" => {
            let node_dir = dir.join("node");
            if !succeeds(Command::new("node").arg("--version")) {
                return Err("node is not installed".into());
            }
            if !node_dir
                .join("node_modules/@nats-io/transport-node/package.json")
                .exists()
            {
                return Err(
                    "tests/clients/node has no node_modules (scripts/setup.sh runs npm ci there)"
                        .into(),
                );
            }
            Ok(spec(
                "node".into(),
                vec![node_dir.join("kit-adapter.mjs").display().to_string()],
            ))
        }
        "cnats" => {
            if !Path::new("/usr/include/nats/nats.h").exists() {
                return Err("libnats-dev is not installed".into());
            }
            let binary = work.join("kitadapter-c");
            let out = Command::new("cc")
                .arg(dir.join("c/kit_adapter.c"))
                .arg("-o")
                .arg(&binary)
                .args(["-lnats", "-lpthread"])
                .output()
                .map_err(|e| format!("cc: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "cc failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            Ok(spec(binary, Vec::new()))
        }
        other => Err(format!(
            "no adapter for {other:?} (known: {})",
            NAMES.join(", ")
        )),
    }
}

fn succeeds(command: &mut Command) -> bool {
    command.output().is_ok_and(|o| o.status.success())
}
