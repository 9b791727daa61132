fn main() {
    std::process::exit(fundrecon::cli::main());
}
