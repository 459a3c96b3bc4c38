//! `skiff`: the NATS-compatible broker daemon.

fn main() -> std::process::ExitCode {
    skiff::daemon::main_with_args(std::env::args_os().skip(1).collect())
}
