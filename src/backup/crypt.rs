//! age encryption of the Secrets in a backup: to the environment's
//! `backup.recipients` (age public keys, `age1…`), decrypted on restore
//! with `--identity FILE` (an age identity file, `AGE-SECRET-KEY-1…`).

use std::io::{Read, Write};
use std::str::FromStr;

/// Public keys Secrets are encrypted to.
#[derive(Clone)]
pub struct Recipients(Vec<age::x25519::Recipient>);

impl std::fmt::Debug for Recipients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Recipients({})", self.0.len())
    }
}

impl Recipients {
    /// Each must be an age X25519 public key; the error names the bad one.
    pub fn parse(keys: &[String]) -> Result<Self, String> {
        keys.iter()
            .map(|k| {
                age::x25519::Recipient::from_str(k.trim())
                    .map_err(|e| format!("`{k}` is not an age public key (expected age1…): {e}"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Recipients)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn keys(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }

    pub fn encrypt(&self, plaintext: &[u8]) -> std::io::Result<Vec<u8>> {
        let encryptor =
            age::Encryptor::with_recipients(self.0.iter().map(|r| r as &dyn age::Recipient))
                .map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut out = Vec::new();
        let mut writer = encryptor.wrap_output(&mut out)?;
        writer.write_all(plaintext)?;
        writer.finish()?;
        Ok(out)
    }
}

/// Private keys (`--identity`).
#[derive(Clone)]
pub struct Identities(Vec<age::x25519::Identity>);

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identities({}, <redacted>)", self.0.len())
    }
}

impl Identities {
    /// An age identity file: `AGE-SECRET-KEY-1…` lines, `#` comments.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut found = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let identity = age::x25519::Identity::from_str(line).map_err(|_| {
                format!(
                    "line {}: not an age identity (expected AGE-SECRET-KEY-1…, as `age-keygen` writes)",
                    n + 1
                )
            })?;
            found.push(identity);
        }
        if found.is_empty() {
            return Err("holds no age identity (expected AGE-SECRET-KEY-1… lines)".into());
        }
        Ok(Identities(found))
    }

    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>, String> {
        let decryptor = age::Decryptor::new(ciphertext).map_err(|e| e.to_string())?;
        let mut reader = decryptor
            .decrypt(self.0.iter().map(|i| i as &dyn age::Identity))
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        reader.read_to_end(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_decrypt_only_with_the_identity() {
        let id = age::x25519::Identity::generate();
        let other = age::x25519::Identity::generate();
        let recipients = Recipients::parse(&[id.to_public().to_string()]).unwrap();
        let sealed = recipients.encrypt(b"planted-secret-value").unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("planted-secret-value"));
        use age::secrecy::ExposeSecret;
        let mine =
            Identities::parse(&format!("# key\n{}\n", id.to_string().expose_secret())).unwrap();
        assert_eq!(mine.decrypt(&sealed).unwrap(), b"planted-secret-value");
        let theirs = Identities::parse(other.to_string().expose_secret()).unwrap();
        assert!(theirs.decrypt(&sealed).is_err());
        assert!(
            Identities::parse("hello")
                .unwrap_err()
                .contains("not an age identity")
        );
        assert!(
            Recipients::parse(&["age1nope".into()])
                .unwrap_err()
                .contains("age public key")
        );
    }
}
