fn main() -> std::process::ExitCode {
    provision::run()
}
