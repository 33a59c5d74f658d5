//! Shared vocabulary of terrane: values (with unknown and sensitive marks), types,
//! addresses and diagnostics. This crate does no I/O.

pub mod address;
pub mod diag;
pub mod number;
pub mod time;
pub mod types;
pub mod value;
pub mod value_map;

pub use address::{AddressError, InstanceAddr, InstanceKey, Mode, ModulePath, ResourceAddr};
pub use number::Number;
pub use diag::{Diagnostic, Diagnostics, Severity, SourceFile, Span};
pub use types::{unify, ConversionError, Type};
pub use value::{AttrPath, PathStep, Value};
pub use value_map::ValueMap;
