//! The `mixstage` command line: parses arguments and calls the library.

mod cli;

use clap::Parser;

fn main() {
    // Ctrl-C or SIGTERM: delete the output files still being written, exit 130.
    let _ = ctrlc::set_handler(|| {
        mixstage::io::remove_temporary_files();
        eprintln!("interrupted: no output was written");
        std::process::exit(130);
    });
    let args = cli::Cli::parse();
    std::process::exit(cli::run(args));
}
