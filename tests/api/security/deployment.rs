//! Finding 13: the deployment files install Rota for real by default.

/// The `command:` lines of the compose file that are not commented out.
fn live_commands(compose: &str) -> Vec<String> {
    compose
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("command:"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_compose_file_runs_a_real_install_and_offers_the_demo_as_an_opt_in_line() {
    let compose = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docker-compose.yml")).unwrap();
    let live = live_commands(&compose);
    assert_eq!(live, vec![r#"command: ["serve"]"#.to_owned()], "{live:?}");
    assert!(
        compose
            .lines()
            .any(|l| l.trim().starts_with('#') && l.contains("--demo")),
        "the demo stays one uncommented line away"
    );
}
