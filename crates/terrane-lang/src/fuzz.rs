//! Seeded mutations of source text, for the tests that feed every layer
//! broken input and require a diagnostic, never a panic.

/// A small deterministic generator: the same seed gives the same inputs, so
/// a failure names an iteration that can be run again.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn below(&mut self, bound: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % bound.max(1)
    }
}

/// Tokens and calls that have found bugs: unbalanced brackets, template
/// markers, heredocs, huge numbers, functions at their limits.
const PIECES: &[&str] = &[
    "{", "}", "[", "]", "(", ")", "\"", "${", "%{", "~}", "=", "==", "=>", "...", "?", ":", ",", ".", "*", "[*]", "-",
    "!", "&&", "||", "/", "%", "<<EOT\n", "\nEOT\n", "<<-X\n", "#", "//", "/*", "*/", "\n", " ", "\\", "for", "in", "if",
    "null", "true", "1e309", "-0", "0x", "9999999999999999999999", "é", "\u{0}", "var.", "local.", "[0]", "[\"k\"]", "[-1]",
    "tolist(", "format(\"%", "%d", "substr(\"ab\", 5, -9)", "range(1e9)", "regex(\"(\", \"x\")", "element([], 1)",
    "yamldecode(\"a: [&x *x\")", "yamlencode({a = [\"\\n \"]})", "formatdate(\"YYYY'\", \"0000-01-01T00:00:00Z\")",
    "timeadd(\"9999-12-31T23:59:59Z\", \"1e400h\")", "timeadd(\"0000-01-01T00:00:00-23:59\", \"-1ns\")",
    "cidrsubnet(\"::/0\", 128, 1e40)", "cidrhost(\"10.0.0.0/8\", -1e40)", "cidrsubnets(\"::/0\", 1, 127, 128)", "parseint(\"zz\", 62)",
];

/// One to six edits of `seed`: deletions, insertions of the pieces above,
/// duplicated slices and overwrites.
pub fn mutate(seed: &str, rng: &mut Lcg) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(chars.len() + 1).min(chars.len());
        match rng.below(4) {
            0 if !chars.is_empty() => {
                let end = (at + 1 + rng.below(20)).min(chars.len());
                chars.drain(at.min(end)..end);
            }
            1 => {
                let piece = PIECES[rng.below(PIECES.len())];
                chars.splice(at..at, piece.chars());
            }
            2 if !chars.is_empty() => {
                // Duplicate a slice: nesting and repetition find recursion bugs.
                let start = rng.below(chars.len());
                let end = (start + rng.below(60)).min(chars.len());
                let slice: Vec<char> = chars[start..end].to_vec();
                chars.splice(at..at, slice);
            }
            _ => {
                let piece = PIECES[rng.below(PIECES.len())];
                let end = (at + piece.len()).min(chars.len());
                chars.splice(at..end, piece.chars());
            }
        }
    }
    chars.into_iter().collect()
}
