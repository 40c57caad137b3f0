use clap::Parser;

/// mimalloc gives freed memory back to the system within moments; the
/// system allocator kept the 19 MiB of every password hash for good
/// (200 MB after the demo, 550 MB after 64 sign-ins).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tells mimalloc to commit arena memory only as it is used and to give
/// freed memory back at once rather than after a delay (which, on a thread
/// that then goes idle — a password hash's blocking thread — meant never):
/// after the demo 29 MB instead of 49 MB. Same as setting
/// `MIMALLOC_ARENA_EAGER_COMMIT=0 MIMALLOC_PURGE_DELAY=0`; either variable,
/// when set, wins.
fn return_memory_promptly() {
    // mimalloc's option numbers (v3 `mi_option_e`).
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    for (option, variable) in [
        (ARENA_EAGER_COMMIT, "MIMALLOC_ARENA_EAGER_COMMIT"),
        (PURGE_DELAY, "MIMALLOC_PURGE_DELAY"),
    ] {
        if std::env::var_os(variable).is_none() {
            // SAFETY: mi_option_set only stores an option's value; mimalloc
            // reads options when it next needs them, and these two are
            // meant to be changed at run time.
            unsafe { libmimalloc_sys::mi_option_set(option, 0) };
        }
    }
}

fn main() -> anyhow::Result<()> {
    return_memory_promptly();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    rota::cli::run(rota::cli::Cli::parse()).await
}
