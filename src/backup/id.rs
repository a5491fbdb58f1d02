//! Backup IDs: `<UTC timestamp>-<short id>`, e.g. `20261129T203320Z-4f9a1c`.
//! They sort by time as strings, and the short id keeps two backups taken
//! in the same second apart.

use k8s_openapi::jiff::Timestamp;

/// A valid backup ID.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BackupId(String);

/// What `backup verify` / `restore` are asked for: one backup, or the
/// newest complete one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupRef {
    Id(BackupId),
    Latest,
}

impl std::fmt::Display for BackupRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackupRef::Id(id) => f.write_str(id.as_str()),
            BackupRef::Latest => f.write_str("latest"),
        }
    }
}

impl BackupRef {
    /// `latest` or an ID; the error says what was expected.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.trim() == "latest" {
            return Ok(BackupRef::Latest);
        }
        BackupId::parse(s).map(BackupRef::Id)
    }
}

const SHAPE: &str =
    "expected an ID such as 20261129T203320Z-4f9a1c (see `fintechctl backup list`) or `latest`";

impl BackupId {
    /// A new ID for a backup starting at `at`.
    pub fn new(at: Timestamp) -> Self {
        use ring::rand::SecureRandom;
        let mut bytes = [0u8; 3];
        let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
        let short: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        BackupId(format!("{}-{short}", at.strftime("%Y%m%dT%H%M%SZ")))
    }

    /// Checks the shape: 8 digits, `T`, 6 digits, `Z-`, 6 lowercase hex digits.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let b = s.as_bytes();
        let ok = b.len() == 23
            && b[..8].iter().all(u8::is_ascii_digit)
            && b[8] == b'T'
            && b[9..15].iter().all(u8::is_ascii_digit)
            && b[15] == b'Z'
            && b[16] == b'-'
            && b[17..]
                .iter()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c));
        if ok && Self::time_of(s).is_some() {
            Ok(BackupId(s.to_string()))
        } else {
            Err(format!("`{s}` is not a backup ID: {SHAPE}"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// When the backup started (from the ID).
    pub fn time(&self) -> Timestamp {
        Self::time_of(&self.0).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn time_of(s: &str) -> Option<Timestamp> {
        let t = &s[..16];
        let iso = format!(
            "{}-{}-{}T{}:{}:{}Z",
            &t[0..4],
            &t[4..6],
            &t[6..8],
            &t[9..11],
            &t[11..13],
            &t[13..15]
        );
        iso.parse().ok()
    }
}

impl std::fmt::Display for BackupId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_sort_by_time() {
        let a = BackupId::new("2026-11-29T20:33:20Z".parse().unwrap());
        assert!(a.as_str().starts_with("20261129T203320Z-"), "{a}");
        assert_eq!(BackupId::parse(a.as_str()).unwrap(), a);
        assert_eq!(a.time().to_string(), "2026-11-29T20:33:20Z");
        let b = BackupId::new("2026-11-30T01:00:00Z".parse().unwrap());
        assert!(a < b);
    }

    #[test]
    fn malformed_ids_say_what_was_expected() {
        for bad in [
            "",
            "2026",
            "20261129T203320Z",
            "20261129T203320Z-XYZ123",
            "20261399T203320Z-abcdef",
            "../20261129T203320Z-abc",
        ] {
            let err = BackupId::parse(bad).unwrap_err();
            assert!(err.contains("expected an ID such as"), "{bad}: {err}");
        }
        assert_eq!(BackupRef::parse("latest").unwrap(), BackupRef::Latest);
    }
}
