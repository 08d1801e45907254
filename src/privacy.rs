//! The operator's anonymity key: HMAC-SHA-256 over SHA-256, and loading the key from an
//! environment variable or a key file that is never in the database.

use crate::config::PrivacyConfig;
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};

/// The shortest key accepted, in bytes (a generated key file holds 64 hex characters).
pub const MIN_KEY_BYTES: usize = 32;

/// Why the anonymity key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("environment variable {var} (named by privacy.key_env) is not set")]
    MissingEnv { var: String },
    #[error(
        "the anonymity key in {source_name} is {got} bytes; it must be at least {MIN_KEY_BYTES} (e.g. `openssl rand -hex 32`)"
    )]
    TooShort { source_name: String, got: usize },
    #[error("cannot read the anonymity key file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the anonymity key file {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot make random bytes for the anonymity key: {0}")]
    Random(String),
}

/// The secret that keys anonymous respondents; prints as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct AnonKey(Vec<u8>);

impl fmt::Debug for AnonKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AnonKey(***)")
    }
}

impl AnonKey {
    /// A key from raw bytes; at least [`MIN_KEY_BYTES`].
    pub fn new(bytes: impl Into<Vec<u8>>, source_name: &str) -> Result<Self, KeyError> {
        let bytes = bytes.into();
        if bytes.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort {
                source_name: source_name.into(),
                got: bytes.len(),
            });
        }
        Ok(Self(bytes))
    }

    /// A fresh random key (tests, first run).
    pub fn random() -> Result<Self, KeyError> {
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Self(hex(&raw).into_bytes()))
    }

    pub fn mac(&self, message: &[u8]) -> [u8; 32] {
        hmac_sha256(&self.0, message)
    }

    /// A value stored to notice a changed key; reveals nothing about the key itself.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.mac(b"canvass anonymity key check v1")
    }
}

/// HMAC-SHA-256 (RFC 2104), over the `sha2` crate already in use.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the key comes from, as configured: `key_env`, else `key_file` relative to the
/// config file's folder.
pub fn key_file_path(cfg: &PrivacyConfig, config_path: &Path) -> PathBuf {
    let file = Path::new(&cfg.key_file);
    if file.is_absolute() {
        file.to_path_buf()
    } else {
        config_path
            .parent()
            .unwrap_or_else(|| Path::new(""))
            .join(file)
    }
}

/// Loads the key: from the environment variable `key_env` when set (it must then exist), else
/// from `key_file`, which is created (mode 0600) with a random key when missing.
/// Whether the operator asked to start over with a new anonymity key
/// (`CANVASS_ACCEPT_NEW_ANON_KEY=1`), accepting that members of open anonymous surveys can
/// answer again as new respondents.
pub fn accept_new_key() -> bool {
    std::env::var("CANVASS_ACCEPT_NEW_ANON_KEY").is_ok_and(|v| v.trim() == "1")
}

pub fn load(cfg: &PrivacyConfig, config_path: &Path) -> Result<AnonKey, KeyError> {
    if let Some(var) = &cfg.key_env {
        let value = std::env::var(var).unwrap_or_default();
        let value = value.trim();
        if value.is_empty() {
            return Err(KeyError::MissingEnv { var: var.clone() });
        }
        return AnonKey::new(value.as_bytes(), var);
    }
    let path = key_file_path(cfg, config_path);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            warn_if_readable_by_others(&path);
            AnonKey::new(text.trim().as_bytes(), &path.display().to_string())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(&path),
        Err(source) => Err(KeyError::Read { path, source }),
    }
}

/// Writes a new key beside `path` and links it into place, so a reader (another process
/// starting at the same moment) sees either no file or the whole key, never half of it.
fn create(path: &Path) -> Result<AnonKey, KeyError> {
    let key = AnonKey::random()?;
    let created = |source| KeyError::Create {
        path: path.to_path_buf(),
        source,
    };
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(|e| KeyError::Random(e.to_string()))?;
    let tmp = path.with_extension(format!("key-new-{}", hex(&suffix)));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let write = || -> std::io::Result<()> {
        use std::io::Write as _;
        let mut f = opts.open(&tmp)?;
        f.write_all(&key.0)?;
        f.write_all(b"\n")?;
        f.sync_all()
    };
    write().map_err(created)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        // Another process made one first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            return AnonKey::new(text.trim().as_bytes(), &path.display().to_string());
        }
        Err(e) => return Err(created(e)),
    }
    tracing::warn!(
        path = %path.display(),
        "created a new anonymity key file. BACK IT UP, apart from the database: without it, \
         members of open anonymous surveys can answer again as new respondents"
    );
    Ok(key)
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(m) = std::fs::metadata(path) {
            if m.permissions().mode() & 0o077 != 0 {
                tracing::warn!(path = %path.display(), "the anonymity key file can be read by other users; chmod 600 it");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 4231 test cases 1, 2, 3, 4, 6 and 7 (case 5 is a truncated output).
    #[test]
    fn hmac_matches_rfc_4231() {
        let cases: [(Vec<u8>, Vec<u8>, &str); 6] = [
            (
                vec![0x0b; 20],
                b"Hi There".to_vec(),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                vec![0xaa; 20],
                vec![0xdd; 50],
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            ),
            (
                unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                vec![0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            ),
            (
                vec![0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                vec![0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (key, msg, want) in cases {
            assert_eq!(hex(&hmac_sha256(&key, &msg)), want);
        }
    }

    #[test]
    fn a_missing_key_file_is_created_private_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = PrivacyConfig::default();
        let config = dir.path().join("bot.toml");
        let first = load(&cfg, &config).unwrap();
        let path = dir.path().join("canvass.key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(load(&cfg, &config).unwrap(), first);
        assert_eq!(format!("{first:?}"), "AnonKey(***)");
    }

    #[test]
    fn short_keys_and_missing_variables_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("canvass.key"), "short\n").unwrap();
        let e = load(&PrivacyConfig::default(), &dir.path().join("bot.toml")).unwrap_err();
        assert!(e.to_string().contains("at least 32"), "{e}");
        let cfg = PrivacyConfig {
            key_env: Some("CANVASS_TEST_SURELY_UNSET_KEY".into()),
            ..PrivacyConfig::default()
        };
        let e = load(&cfg, &dir.path().join("bot.toml")).unwrap_err();
        assert!(
            e.to_string().contains("CANVASS_TEST_SURELY_UNSET_KEY"),
            "{e}"
        );
    }
}
