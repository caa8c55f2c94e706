//! Thin entry point: all behaviour is in the library so tests and tools can reach it.

fn main() -> std::process::ExitCode {
    herossh::main_entry()
}
