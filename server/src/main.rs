//! The `caucus` binary: configuration, wiring and CLI subcommands. No business
//! logic lives here.

fn main() {}
