//! Fingerprints that identify a finding across runs, for code scanning and baselines.
//!
//! - [`line_hashes`] is GitHub's `primaryLocationLineHash`, ported from github/codeql-action's
//!   `src/fingerprints.ts` (`hash`): a rolling hash (base 37, modulo 2^64) over the next 100
//!   characters from the start of each line, counted in UTF-16 code units with spaces and tabs
//!   skipped and `\r\n`/`\r` read as `\n`, written as lower-case hex plus `:N`, N counting
//!   the earlier lines of the file with the same hash. upload-sarif computes it itself when a
//!   result has none and warns when ours differs, so both must agree exactly.
//! - [`finding_hash`] with [`Occurrences`] is dockpolicy's own key (`dockpolicy/v1`): FNV-1a
//!   (64 bits) over the rule ID, the file's path, the reported text and the message, plus
//!   `:N` for the Nth finding with the same four. It does not depend on line numbers, so inserting lines above a
//!   finding keeps it, and it changes when the rule, file, token or message change.

use std::hash::Hasher;

use fnv::FnvHasher;

const BLOCK_SIZE: usize = 100;
const MOD: u64 = 37;
const EOF: u64 = 65535;
const TAB: u64 = b'\t' as u64;
const SPACE: u64 = b' ' as u64;
const LF: u64 = b'\n' as u64;
const CR: u64 = b'\r' as u64;

/// The `primaryLocationLineHash` of every line of `text`: element `i` is line `i + 1`'s.
/// As in codeql-action, a text ending in a newline has one more (empty) line.
pub fn line_hashes(text: &str) -> Vec<LineHash> {
    let mut hasher = RollingHash::new();
    for unit in text.encode_utf16() {
        hasher.process(u64::from(unit));
    }
    hasher.process(EOF);
    hasher.flush()
}

/// One line's `primaryLocationLineHash`: the hash, and how many lines up to this one have
/// it. Written (`Display`) as the hash in lower-case hex, `:`, and the count; only the
/// lines a report names are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineHash {
    hash: u64,
    count: usize,
}

impl std::fmt::Display for LineHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:x}:{}", self.hash, self.count)
    }
}

/// The state of codeql-action's `hash` function.
struct RollingHash {
    window: [u64; BLOCK_SIZE],
    /// The line that starts at each window position, if one does.
    line_numbers: [Option<usize>; BLOCK_SIZE],
    hash: u64,
    first_mod: u64,
    index: usize,
    line_number: usize,
    line_start: bool,
    prev_cr: bool,
    counts: foldhash::HashMap<u64, usize>,
    /// Hashes by line number (0-based).
    hashes: Vec<LineHash>,
}

impl RollingHash {
    fn new() -> RollingHash {
        RollingHash {
            window: [0; BLOCK_SIZE],
            line_numbers: [None; BLOCK_SIZE],
            hash: 0,
            first_mod: (0..BLOCK_SIZE).fold(1u64, |acc, _| acc.wrapping_mul(MOD)),
            index: 0,
            line_number: 0,
            line_start: true,
            prev_cr: false,
            counts: foldhash::HashMap::default(),
            hashes: Vec::new(),
        }
    }

    fn process(&mut self, unit: u64) {
        if unit == SPACE || unit == TAB || (self.prev_cr && unit == LF) {
            self.prev_cr = false;
            return;
        }
        let unit = if unit == CR {
            self.prev_cr = true;
            LF
        } else {
            self.prev_cr = false;
            unit
        };
        if self.line_numbers[self.index].is_some() {
            self.output();
        }
        if self.line_start {
            self.line_start = false;
            self.line_number += 1;
            self.line_numbers[self.index] = Some(self.line_number);
        }
        if unit == LF {
            self.line_start = true;
        }
        self.update(unit);
    }

    fn output(&mut self) {
        let Some(line) = self.line_numbers[self.index].take() else {
            return;
        };
        let count = self.counts.entry(self.hash).or_insert(0);
        *count += 1;
        if self.hashes.len() < line {
            self.hashes.resize(line, LineHash::default());
        }
        self.hashes[line - 1] = LineHash {
            hash: self.hash,
            count: *count,
        };
    }

    fn update(&mut self, unit: u64) {
        let begin = self.window[self.index];
        self.window[self.index] = unit;
        self.hash = MOD
            .wrapping_mul(self.hash)
            .wrapping_add(unit)
            .wrapping_sub(self.first_mod.wrapping_mul(begin));
        self.index = (self.index + 1) % BLOCK_SIZE;
    }

    fn flush(mut self) -> Vec<LineHash> {
        for _ in 0..BLOCK_SIZE {
            if self.line_numbers[self.index].is_some() {
                self.output();
            }
            self.update(0);
        }
        self.hashes
    }
}

/// The name of dockpolicy's own key in SARIF `partialFingerprints`.
pub const FINDING_KEY_NAME: &str = "dockpolicy/v1";

/// dockpolicy's key of a finding without its occurrence number, whose 16 hex digits start
/// the key. The path is given in pieces (a PATH's prefix and the file's relative path) that
/// are hashed as one string.
pub fn finding_hash(rule_id: &str, path: &[&str], token: &str, message: &str) -> u64 {
    let mut hasher = FnvHasher::default();
    hasher.write(rule_id.as_bytes());
    // A separator that cannot occur in the parts keeps ("ab", "c") apart from ("a", "bc").
    hasher.write(&[0xff]);
    for piece in path {
        hasher.write(piece.as_bytes());
    }
    for part in [token, message] {
        hasher.write(&[0xff]);
        hasher.write(part.as_bytes());
    }
    hasher.write(&[0xff]);
    hasher.finish()
}

/// Counts occurrences of equal hashes to give each its `:N` suffix, in the order given.
#[derive(Default)]
pub struct Occurrences(foldhash::HashMap<u64, usize>);

impl Occurrences {
    /// `hash:N` (the hash in 16 lower-case hex digits), N being 1 for the first time `hash`
    /// is seen.
    pub fn key(&mut self, hash: u64) -> String {
        let count = self.0.entry(hash).or_insert(0);
        *count += 1;
        format!("{hash:016x}:{count}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `line_hashes` written as reports write them.
    fn line_hashes(text: &str) -> Vec<String> {
        super::line_hashes(text)
            .iter()
            .map(LineHash::to_string)
            .collect()
    }

    /// The vectors of codeql-action's `src/fingerprints.test.ts`.
    #[test]
    fn matches_codeql_action() {
        assert_eq!(line_hashes(""), ["c129715d7a2bc9a3:1"]);
        assert_eq!(
            line_hashes(" a\nb\n  \t\tc\n d"),
            [
                "271789c17abda88f:1",
                "54703d4cd895b18:1",
                "180aee12dab6264:1",
                "a23a3dc5e078b07b:1"
            ]
        );
        assert_eq!(
            line_hashes(" hello; \t\r\nworld!!!\r\n\r\n\r\n  \t\tGreetings\r\n End\r\n"),
            [
                "e9496ae3ebfced30:1",
                "fb7c023a8b9ccb3f:1",
                "ce8ba1a563dcdaca:1",
                "e20e36e16fcb0cc8:1",
                "b3edc88f2938467e:1",
                "c8e28b0b4002a3a0:1",
                "c129715d7a2bc9a3:1"
            ]
        );
        assert_eq!(
            line_hashes(&"Lorem ipsum dolor sit amet.\n".repeat(10)),
            [
                "a7f2ff13bc495cf2:1",
                "a7f2ff13bc495cf2:2",
                "a7f2ff13bc495cf2:3",
                "a7f2ff13bc495cf2:4",
                "a7f2ff13bc495cf2:5",
                "a7f2ff13bc495cf2:6",
                "a7f2ff1481e87703:1",
                "a9cf91f7bbf1862b:1",
                "55ec222b86bcae53:1",
                "cc97dc7b1d7d8f7b:1",
                "c129715d7a2bc9a3:1"
            ]
        );
    }

    #[test]
    fn finding_hash_separates_its_parts() {
        let a = finding_hash("DP1", &["ab"], "c", "m");
        assert_ne!(a, finding_hash("DP1", &["a"], "bc", "m"));
        assert_eq!(a, finding_hash("DP1", &["ab"], "c", "m"));
        // The path's pieces are hashed as one string.
        assert_eq!(a, finding_hash("DP1", &["a", "b"], "c", "m"));
        let mut occurrences = Occurrences::default();
        assert_eq!(occurrences.key(a), format!("{a:016x}:1"));
        assert_eq!(occurrences.key(a), format!("{a:016x}:2"));
        assert_eq!(occurrences.key(0xab), "00000000000000ab:1");
    }

    /// The key is FNV-1a (64 bits) over the parts, each followed by 0xff, in hex.
    #[test]
    fn finding_hash_is_fnv_over_the_parts() {
        let mut hasher = FnvHasher::default();
        for part in ["DP1", "svc/Dockerfile", "FROM a", "message"] {
            hasher.write(part.as_bytes());
            hasher.write(&[0xff]);
        }
        assert_eq!(
            finding_hash("DP1", &["svc/", "Dockerfile"], "FROM a", "message"),
            hasher.finish()
        );
    }
}
