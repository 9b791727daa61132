// mimalloc for the program (not for the tests or fuzz targets, which keep the system
// allocator their tools hook into): see `fundrecon::alloc`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(fundrecon::cli::main());
}
