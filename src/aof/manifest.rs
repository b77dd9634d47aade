//! The multi-part AOF manifest (Redis 7.0): one line per file, `file <name> seq <n> type <b|h|i>`, in
//! `<appenddirname>/<appendfilename>.manifest`. The base file comes first, then the history files (left to
//! delete), then the incremental files in order. File names follow Redis:
//! `<appendfilename>.<seq>.base.rdb` (or `.base.aof` without RDB preamble) and
//! `<appendfilename>.<seq>.incr.aof`.
//!
//! The manifest is replaced atomically: written to `temp-<appendfilename>.manifest`, fsync'd, renamed over
//! the real one, and the directory fsync'd.

use std::io::Write;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Base,
    History,
    Incr,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Kind::Base => 'b',
            Kind::History => 'h',
            Kind::Incr => 'i',
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    pub name: String,
    pub seq: u64,
    pub kind: Kind,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<FileInfo>,
    pub history: Vec<FileInfo>,
    pub incrs: Vec<FileInfo>,
    /// Highest sequence numbers in use (new files take the next one).
    pub base_seq: u64,
    pub incr_seq: u64,
}

impl Manifest {
    /// Parses a manifest with Redis's rules and error texts (`aofLoadManifestFromFile`).
    pub fn parse(text: &[u8]) -> Result<Manifest, String> {
        let mut m = Manifest::default();
        let mut lines = 0usize;
        for raw in text.split(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(raw);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            lines += 1;
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.len() < 6 || !words.len().is_multiple_of(2) {
                return Err("Invalid AOF manifest file format".into());
            }
            let (mut name, mut seq, mut kind) = (None, None, None);
            for pair in words.chunks(2) {
                match pair {
                    ["file", v] => name = Some(v.to_string()),
                    ["seq", v] => seq = v.parse::<u64>().ok(),
                    ["type", "b"] => kind = Some(Kind::Base),
                    ["type", "h"] => kind = Some(Kind::History),
                    ["type", "i"] => kind = Some(Kind::Incr),
                    _ => {}
                }
            }
            let (Some(name), Some(seq), Some(kind)) = (name, seq, kind) else {
                return Err("Invalid AOF manifest file format".into());
            };
            if name.contains('/') {
                return Err("Invalid AOF manifest file format".into());
            }
            let info = FileInfo { name, seq, kind };
            match kind {
                Kind::Base => {
                    if m.base.is_some() {
                        return Err("Found duplicate base file information".into());
                    }
                    m.base_seq = seq;
                    m.base = Some(info);
                }
                Kind::History => m.history.push(info),
                Kind::Incr => {
                    if seq <= m.incr_seq {
                        return Err("Found a non-monotonic sequence number".into());
                    }
                    m.incr_seq = seq;
                    m.incrs.push(info);
                }
            }
        }
        if lines == 0 {
            return Err("Found an empty AOF manifest".into());
        }
        Ok(m)
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        for f in self.base.iter().chain(&self.history).chain(&self.incrs) {
            s.push_str(&format!("file {} seq {} type {}\n", f.name, f.seq, f.kind.letter()));
        }
        s
    }

    /// Writes the manifest atomically into `dir` as `<appendfilename>.manifest`.
    pub fn persist(&self, dir: &Path, appendfilename: &str) -> std::io::Result<()> {
        let tmp = dir.join(format!("temp-{appendfilename}.manifest"));
        let path = dir.join(manifest_name(appendfilename));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(self.render().as_bytes())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &path)?;
        fsync_dir(dir);
        Ok(())
    }
}

pub fn manifest_name(appendfilename: &str) -> String {
    format!("{appendfilename}.manifest")
}

pub fn base_name(appendfilename: &str, seq: u64, rdb: bool) -> String {
    format!("{appendfilename}.{seq}.base.{}", if rdb { "rdb" } else { "aof" })
}

pub fn incr_name(appendfilename: &str, seq: u64) -> String {
    format!("{appendfilename}.{seq}.incr.aof")
}

/// The incremental file used while `CONFIG SET appendonly yes` waits for its first base (not in the
/// manifest until the base exists, as Redis's `temp-<name>.incr`).
pub fn temp_incr_name(appendfilename: &str) -> String {
    format!("temp-{appendfilename}.incr")
}

pub fn fsync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_redis_manifest() {
        let text = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n";
        let m = Manifest::parse(text.as_bytes()).unwrap();
        assert_eq!(m.base.as_ref().map(|b| b.name.as_str()), Some("appendonly.aof.1.base.rdb"));
        assert_eq!(m.incrs.len(), 1);
        assert_eq!(m.render(), text);
    }

    #[test]
    fn rejects_junk() {
        assert!(Manifest::parse(b"file x seq\n").is_err());
        assert!(Manifest::parse(b"").is_err());
        assert!(Manifest::parse(b"file a seq 2 type i\nfile b seq 1 type i\n").is_err());
    }
}
