//! Caucus domain (being written).
