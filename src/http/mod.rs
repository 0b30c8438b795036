//! The edge: what HTTP means here. Digest authentication, content negotiation, request bodies,
//! query parameters and the one error type, rendered in the negotiated format.
pub mod auth;
pub mod body;
pub mod digest;
pub mod edge;
pub mod error;
pub mod extract;
pub mod negotiate;
pub mod params;
