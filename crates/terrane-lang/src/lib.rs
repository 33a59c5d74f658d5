//! The Terraform language for terrane: loads `.tf` files with hcl-edit into a
//! configuration model, evaluates expressions to `Value`s, and provides the
//! built-in functions. It reads files but does no other I/O.

pub mod ast;
pub mod config;
pub mod eval;
pub mod fmt;
pub mod functions;
pub mod fuzz;
pub mod inputs;
pub mod parse;
mod netfuncs;
mod timefuncs;
pub mod typeexpr;
mod yaml;

pub use ast::{Expr, ExprKind, RefTarget, Reference, Traverser};
pub use config::{load_config, load_config_with_problems, Attribute, Block, Body, Config, Module, ModuleCall, Output, Resource, Variable};
pub use eval::{eval, eval_with, Scope};
