//! Live progress during apply, one line per event as Terraform prints them.

use std::io::Write as _;
use std::sync::Mutex;

use terrane_engine::{ApplyEvent, Observer, Phase};

use crate::render::Style;

pub struct Progress {
    pub style: Style,
    pub out: Mutex<std::io::Stdout>,
}

fn secs(d: std::time::Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

impl Observer for Progress {
    fn event(&self, event: ApplyEvent) {
        let line = match event {
            ApplyEvent::Started { addr, phase, .. } => {
                let verb = match phase {
                    Phase::Create => "Creating...",
                    Phase::Update => "Modifying...",
                    Phase::Delete => "Destroying...",
                    Phase::Read => "Reading...",
                };
                format!("{}: {verb}", self.style.bold(&addr.to_string()))
            }
            ApplyEvent::Finished { addr, phase, elapsed, id, .. } => {
                let verb = match phase {
                    Phase::Create => "Creation complete",
                    Phase::Update => "Modifications complete",
                    Phase::Delete => "Destruction complete",
                    Phase::Read => "Read complete",
                };
                let id = id.map(|i| format!(" [id={i}]")).unwrap_or_default();
                format!("{}: {verb} after {}{id}", self.style.bold(&addr.to_string()), secs(elapsed))
            }
            ApplyEvent::Failed { addr, phase, .. } => {
                let verb = match phase {
                    Phase::Create => "creation failed",
                    Phase::Update => "modification failed",
                    Phase::Delete => "destruction failed",
                    Phase::Read => "read failed",
                };
                format!("{}: {}", self.style.bold(&addr.to_string()), self.style.red(verb))
            }
        };
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{line}");
        }
    }
}
