//! Stamps the binary with the commit it was built from (`ROTA_COMMIT` when
//! the build sets it, as the Dockerfile does; else `git`; else "unknown"),
//! for `rota --version` and the `rota_build_info` metric.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn main() {
    println!("cargo:rerun-if-env-changed=ROTA_COMMIT");
    let commit = std::env::var("ROTA_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| {
            // Rebuilt when HEAD moves (its reflog changes on every commit
            // and checkout), in a plain clone and in a worktree alike.
            if let Some(log) = git(&["rev-parse", "--git-path", "logs/HEAD"]) {
                println!("cargo:rerun-if-changed={log}");
            }
            git(&["rev-parse", "--short=12", "HEAD"])
        })
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=ROTA_COMMIT={commit}");
}
