//! Startifact 1.0's formats, byte for byte: the organisation configuration document
//! ([`document`]), the storage layout of artifacts and metadata ([`layout`]) and the JSON
//! Python writes ([`pyjson`]). A leaf: `org` (which writes the configuration) and `stage`
//! (which reads it and the artifacts) both depend on it, and not on each other.

pub mod document;
pub mod layout;
pub mod pyjson;
