//! Pictures of kia's messages for a terminal, as pure functions of the message and a width.

pub mod timeline;
