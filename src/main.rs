use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    rota::cli::run(rota::cli::Cli::parse()).await
}
