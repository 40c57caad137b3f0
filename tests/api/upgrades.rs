//! Upgrades (issue 16): a migration on main never changes again (sqlx
//! refuses to start on a database that applied another text of it), the
//! earlier texts of 0008 are repaired rather than refused, and a database
//! migrated by a newer Rota is refused with a sentence saying why.

use reqwest::StatusCode;
use sha2::{Digest, Sha384};

use crate::common::{spawn_app_at, t};

/// Every migration as it was released (SHA-384, what sqlx compares). A
/// new migration is added here; a listed one is never edited: add another.
const RELEASED: &[(&str, &str)] = &[
    (
        "0001_foundation.sql",
        "f908af4583326df9db06dc33983aca9056bfc008205c937423e4849d3909e61372ca8ba06a658fb4dac3105a6e2fc8e4",
    ),
    (
        "0002_change_notifications.sql",
        "90ff869bd5bafa9e88bd7ea441935f3db94b538e6ce2787d6706990977ee7288e408505942b8ef688b5b1d57dbd07a4f",
    ),
    (
        "0003_pages_and_recovery.sql",
        "9d93b2bc188b575aad514f018dcf53c375c0cdeb43636e8652d7b14a8ee3b9b7c492904e939af536e110f83316480ba7",
    ),
    (
        "0004_page_corrections.sql",
        "3ca9983ebf62a907eebe181fcc5e324f0de8c047824d3725abf62ccf831e66b0739cdee8cc7d4a87cecc24f017b04e86",
    ),
    (
        "0005_swaps.sql",
        "bc9eb19f2f93597fccbf115d213f059328e6ca2bfd319a073aeed165b17dff2870277da6b88458b018056a23cdf948d3",
    ),
    (
        "0008_handoffs.sql",
        "c6d799f59e87d3cc60ba6abb739852aea9399b105f1219a2273f00700580c64cba584336170554f6fd59531a1fe6f3ec",
    ),
    (
        "0009_more_cached_reads.sql",
        "50afd923fa3360099300c116c21445247fca3af1c2688f2bfb828135bf903dbe7d550e91473174496995b05a69aa3021",
    ),
    (
        "0010_session_epochs.sql",
        "9b8a2f04f9e43bd3c3518b77bf2ad5cdbecd0b11f81c8af70969e8e5659b2de588346d0013b95dfe32530dca409e3d28",
    ),
    (
        "0011_token_limits.sql",
        "71f13e90344f70b937edaa4586fa2d718e61993dc34e04f67145146eaeea2b4b235d4e691e68bef90d8112aa6a1b8c35",
    ),
    (
        "0012_mail_claims.sql",
        "cf12e1f37cd378eef4d0bfc5ce6e910a765140f0b1fc58a6ce0d16592245c02276da520a711b92d0d50a2a2ea5ecda88",
    ),
    (
        "0013_schedule_changes_notify.sql",
        "7205c366f5d16ae20fb5ddad05cde3c6e6bc7b126a69ffcacaee6cb4802ae42da51275f0bc779febcbe48db3a182dfac",
    ),
    (
        "0014_personal_audit.sql",
        "09b1b6aca13ac84c53be11984d7f87ef7bb7d70e9d693a7d458b2e110c3bdb328164a0811a36d4a79280a105ff4d54f0",
    ),
    (
        "0015_recovery_queue.sql",
        "27b7703c2f4de9c5021cd5b12011580684d6faf0f4b38d945a149dba1ed5cfd9e8ad44a2aa602cef9e043ed3512d9cec",
    ),
    (
        "0016_organisation_scale.sql",
        "1ce527000f0fc5f4276b1781d0fddafc50342eff20120bb5d32bc4154cb2c9e6e5379c5ce94ffe586d5d7ed5913c68ac",
    ),
    (
        "0017_session_notifications.sql",
        "3e7d63d1794f930ace53ff66f8341c10bc920c262fa25c097ec356610738a87161205030fc34f1de60c16e1562d06a2e",
    ),
    (
        "0018_paging.sql",
        "f1d828af6e114fd7731635fd7b3210e5e69368a377c3c5104ae6abc5eeaff8bb3f96780b59025e256798416835b4611c",
    ),
    (
        "0020_announce_after_commit.sql",
        "cdaf271b2847dda1bd3b0599b7e35fc41eb238466dc10bbf57d222fef624a9fc705e88968616a925ad3e380ed6b98518",
    ),
    (
        "0021_shift_boundaries.sql",
        "2984409b982887cbc37de131ff6e656d43ab4e9bdc8408d80e6c355535544364b51e8a1e4f75c119e79bead24f22a5bd",
    ),
    (
        "0022_metrics_covering_indexes.sql",
        "52023abf3963ffb55a91b54d43cc1028cdf02a1722d22426984f03f3b5443e90529a03aa747f482939fa916365562b4f",
    ),
    (
        "0023_accounts.sql",
        "cadf548b032fc632bfa0b2d678f4c8216a69261dc7686ae888095767a4eb345791619970236d70d6b8acc23ac8ea6a5e",
    ),
    (
        "0026_private_teams.sql",
        "094238786a61dcd3cfc5a9fd8c4ffaf0f5455c64a1a80be450c13426e8cef4db576ad12a2eba30fe1b2035fade1e1568",
    ),
    (
        "0027_team_chat.sql",
        "6cfb6e544018f6b6ff15fa7a07237f905dd7ea9058debc0441a4f043f5764c5eb139a8ecf0e7985e7c2ca792e5bae88d",
    ),
    (
        "0028_twilio_replies.sql",
        "1b1f76eff86172cf1fcd67e151f98399465e61dd0318f1b4e5cda001eabb40e135e8445f5132e0c8a86853cc668e8786",
    ),
    (
        "0029_drills.sql",
        "46eb0984002746c982971f0fd280cac4372463da69c6ac9dc14ea4b82674c52a60a509a28462236da903aead4d10e169",
    ),
    (
        "0030_page_storms.sql",
        "106497108de8fc2bdb724f182ed89e31bba704380b85c7bc53481ecf79ee69a8304c6263553c631c80cff2ec502ca581",
    ),
    (
        "0031_shift_notices.sql",
        "4bfc23192786efc0091652920abf9632439b7290d9f4379fbc5c64c7fe0e51c0bdc7f270136dc833611125ee2e62d8ef",
    ),
    (
        "0032_metrics_index_with_id.sql",
        "669ecc6b0a53481fce0a89fa266c670cf1f32f1e0e112a3af33f6b0b0b324f61c82a1e56549d76ed92f9dcbe1afcf78a",
    ),
    (
        "0033_contact_methods_announce.sql",
        "b0f087eac1bcfcedc8824b816bff3693c2d422d653e9d19983fc88a14e7aefe7694b612565559037407a581d9723cf73",
    ),
    (
        "0034_pages_resolved_by.sql",
        "970059c265f471787ad8f4e1ae0f33ab3635968f1a10bbc5ceaad1cd5a4876c4f39c84d9400027efa2e206c2c39ed893",
    ),
    (
        "0035_page_messages_announce.sql",
        "7707837cb5acb6638f95ada856bbbe6cc78b2ced3f072ea4178d988bc0cdfa80aabfe611d0099e784563b434c91d5049",
    ),
];

#[test]
fn every_released_migration_keeps_its_checksum() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    files.sort();
    for (name, released) in RELEASED {
        let text = std::fs::read(format!("{dir}/{name}"))
            .unwrap_or_else(|_| panic!("{name} was released and must stay: databases have applied it"));
        let now = hex::encode(Sha384::digest(&text));
        assert_eq!(
            &now, released,
            "{name} changed after it was released; restore it and put the change in a new migration"
        );
    }
    for name in &files {
        assert!(
            RELEASED.iter().any(|(n, _)| n == name),
            "{name} is new: add it to RELEASED in tests/api/upgrades.rs (from then on it never changes)"
        );
    }
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_rota_is_refused_with_a_reason() {
    let app = spawn_app_at(t("2026-12-02T12:00:00Z")).await;
    let ready = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (99990, 'from the future', true, '\\x00', 0)",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let ready = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let why = ready.text().await.unwrap();
    assert!(why.contains("migrated by a newer Rota (migration 99990"), "{why}");
    let refused = rota::db::migrate(&app.db).await.unwrap_err().to_string();
    assert!(
        refused.contains("newer Rota") && refused.contains("will not start"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_database_that_applied_an_earlier_0008_is_brought_up_to_date_not_refused() {
    let app = spawn_app_at(t("2026-12-02T12:00:00Z")).await;
    let current: Vec<u8> = sqlx::query_scalar("SELECT checksum FROM _sqlx_migrations WHERE version = 8")
        .fetch_one(&app.db)
        .await
        .unwrap();
    // As the first released text left it: another checksum, default storage.
    for sql in [
        "UPDATE _sqlx_migrations SET checksum = decode('81d29180d70e307cc30c6e7e3602e42c481c9cd81bc8122bc57f7f9256230554da850a96919721a4d36b71d97344a485', 'hex') WHERE version = 8",
        "ALTER TABLE handoffs ALTER COLUMN search SET STORAGE EXTENDED",
        "ALTER TABLE handoffs ALTER COLUMN body SET STORAGE EXTENDED",
        "ALTER TABLE handoffs RESET (toast_tuple_target)",
    ] {
        sqlx::query(sql).execute(&app.db).await.unwrap();
    }
    rota::db::migrate(&app.db).await.expect("starts");
    let repaired: Vec<u8> = sqlx::query_scalar("SELECT checksum FROM _sqlx_migrations WHERE version = 8")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(repaired, current);
    let storage: String = sqlx::query_scalar(
        "SELECT attstorage::text FROM pg_attribute WHERE attrelid = 'handoffs'::regclass AND attname = 'search'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(storage, "m", "the storage tuning the later text added");
    // An unknown checksum is still refused by sqlx, as it should be.
    sqlx::query("UPDATE _sqlx_migrations SET checksum = '\\x01' WHERE version = 8")
        .execute(&app.db)
        .await
        .unwrap();
    assert!(rota::db::migrate(&app.db).await.is_err());
}

#[tokio::test]
async fn the_running_release_and_commit_are_in_the_metrics_and_the_version() {
    let app = spawn_app_at(t("2026-12-02T12:00:00Z")).await;
    let metrics = reqwest::get(app.url("/metrics")).await.unwrap().text().await.unwrap();
    let version = env!("CARGO_PKG_VERSION");
    let line = metrics
        .lines()
        .find(|l| l.starts_with("rota_build_info{"))
        .unwrap_or_else(|| panic!("no rota_build_info in {metrics}"));
    assert!(line.contains(&format!("version=\"{version}\"")), "{line}");
    assert!(line.contains("commit=\"") && !line.contains("commit=\"\""), "{line}");
    assert!(line.ends_with(" 1"), "{line}");
    assert!(
        rota::VERSION.starts_with(version),
        "rota --version says {}",
        rota::VERSION
    );
    let (major, rest) = version.split_once('.').unwrap();
    assert!(
        major.parse::<u32>().is_ok() && rest.split('.').all(|p| p.parse::<u32>().is_ok()),
        "semantic"
    );
}
