//! sequence: an API-compatible server for the jobs API of BeBanjo's Sequence.
//!
//! Layout (each folder is one idea):
//! - `http/`   the edge: Digest auth, negotiation, request bodies, query parameters, errors
//! - `api/`    one handler file per resource; thin: parse, call domain and store, render
//! - `domain/` rules with no I/O: derived statuses, validation, dates
//! - `repr/`   representations: one description per resource rendered as XML or JSON
//! - `store/`  the `Repository` trait and its PostgreSQL implementation; SQL lives only here
pub mod api;
pub mod app;
pub mod bulk;
pub mod config;
pub mod delivery;
pub mod directory;
pub mod domain;
pub mod fixtures;
pub mod http;
pub mod repr;
pub mod server;
pub mod store;
