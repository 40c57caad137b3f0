use clap::Parser;

/// mimalloc gives freed memory back to the system within moments; the
/// system allocator kept the 19 MiB of every password hash for good
/// (200 MB after the demo, 550 MB after 64 sign-ins).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    rota::cli::run(rota::cli::Cli::parse()).await
}
