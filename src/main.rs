fn main() -> std::process::ExitCode {
    provision::run(provision::aws::ClientSource::from_args, std::env::args_os())
}
