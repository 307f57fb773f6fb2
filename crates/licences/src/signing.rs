//! Signing licences with SM2 (GB/T 32918): what is signed (a licence's canonical form, the
//! same bytes whoever rebuilds them from the registry), the hall's licence key (made on first
//! start, kept in a file, never in the database) and checking a signature.

use crate::LicenceError;
use serde::Serialize;
use sm2::dsa::signature::{Signer as _, Verifier as _};
use sm2::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use sm3::Digest as _;
use std::path::Path;

/// The name of the canonical form; a new form gets a new name.
pub const FORMAT: &str = "govhall-licence/1";

/// The SM2 distinguishing identifier when none is configured (the standard's default).
pub const DEFAULT_ID: &str = "1234567812345678";

/// What a licence's signature covers, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Canonical {
    /// [`FORMAT`].
    pub format: &'static str,
    /// The identifier (证照标识).
    pub identifier: String,
    /// The type's code.
    pub type_code: String,
    /// The type's name.
    pub type_name: String,
    /// The licence number (证照编号).
    pub number: String,
    /// `person` or `enterprise`.
    pub holder_kind: String,
    /// The holder's name.
    pub holder_name: String,
    /// The holder's resident ID number or unified social credit code.
    pub holder_number: String,
    /// The issuing department.
    pub issuer_name: String,
    /// The issuing authority's unified social credit code.
    pub issuer_code: String,
    /// First day valid (YYYY-MM-DD).
    pub valid_from: String,
    /// Last day valid; `None`: no end (长期).
    pub valid_until: Option<String>,
    /// The fields: key, label, value.
    pub fields: Vec<(String, String, String)>,
}

impl Canonical {
    /// The bytes signed.
    pub fn bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The hall's licence key.
#[derive(Clone)]
pub struct LicenceKey {
    signing: sm2::dsa::SigningKey,
    verifying: sm2::dsa::VerifyingKey,
    id: String,
    distid: String,
    public_pem: String,
}

impl std::fmt::Debug for LicenceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LicenceKey({})", self.id)
    }
}

impl LicenceKey {
    /// The key from a PKCS#8 PEM private key, with distinguishing identifier `distid`.
    pub fn from_pem(pem: &str, distid: &str) -> Result<LicenceKey, LicenceError> {
        let secret = sm2::SecretKey::from_pkcs8_pem(pem)
            .map_err(|_| LicenceError::Key("私钥不是有效的 SM2 PKCS#8 PEM".into()))?;
        Self::from_secret(&secret, distid)
    }

    fn from_secret(secret: &sm2::SecretKey, distid: &str) -> Result<LicenceKey, LicenceError> {
        let signing =
            sm2::dsa::SigningKey::new(distid, secret).map_err(|_| LicenceError::Key("SM2 签名标识无效".into()))?;
        let verifying = signing.verifying_key().clone();
        let public = secret.public_key();
        let id = hex::encode(sm3::Sm3::digest(public.to_sec1_bytes()))[..16].to_owned();
        let public_pem =
            public.to_public_key_pem(LineEnding::LF).map_err(|e| LicenceError::Key(format!("无法导出公钥：{e}")))?;
        Ok(LicenceKey { signing, verifying, id, distid: distid.to_owned(), public_pem })
    }

    /// The key in file `path`; when the file does not exist and `create` is set, a new key is
    /// made and written there (readable by its owner only).
    pub fn load(path: &Path, distid: &str, create: bool) -> Result<LicenceKey, LicenceError> {
        match std::fs::read_to_string(path) {
            Ok(pem) => Self::from_pem(&pem, distid)
                .map_err(|e| LicenceError::Key(format!("{}：{}", path.display(), govhall_core::Coded::message(&e)))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                use sm2::elliptic_curve::Generate as _;
                let secret =
                    sm2::SecretKey::try_generate().map_err(|e| LicenceError::Key(format!("无法生成随机数：{e}")))?;
                let pem =
                    secret.to_pkcs8_pem(LineEnding::LF).map_err(|e| LicenceError::Key(format!("无法导出私钥：{e}")))?;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| LicenceError::Key(format!("无法创建目录 {}：{e}", dir.display())))?;
                }
                write_private(path, pem.as_bytes())
                    .map_err(|e| LicenceError::Key(format!("无法写入 {}：{e}", path.display())))?;
                tracing::info!(path = %path.display(), "made a new licence signing key");
                Self::from_secret(&secret, distid)
            }
            Err(e) => Err(LicenceError::Key(format!("无法读取 {}：{e}", path.display()))),
        }
    }

    /// The key's id: the first 16 hex digits of the SM3 hash of its public point.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The SM2 distinguishing identifier it signs with.
    pub fn distid(&self) -> &str {
        &self.distid
    }

    /// The public key as PEM, for anyone who verifies licences offline.
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// The signature of `bytes`: r ‖ s as 128 hex digits.
    pub fn sign(&self, bytes: &[u8]) -> String {
        let signature: sm2::dsa::Signature = self.signing.sign(bytes);
        hex::encode(signature.to_bytes())
    }

    /// Whether `signature` (hex r ‖ s) is this key's over `bytes`.
    pub fn verify(&self, bytes: &[u8], signature: &str) -> bool {
        verify_with(&self.verifying, bytes, signature)
    }
}

/// A public key licences are checked with (the hall's current one, or an earlier one's).
#[derive(Clone)]
pub struct PublicKey(sm2::dsa::VerifyingKey);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PublicKey(…)")
    }
}

impl PublicKey {
    /// The key from its SPKI PEM and distinguishing identifier.
    pub fn from_pem(pem: &str, distid: &str) -> Result<PublicKey, LicenceError> {
        use sm2::pkcs8::DecodePublicKey as _;
        let public =
            sm2::PublicKey::from_public_key_pem(pem).map_err(|_| LicenceError::Key("公钥不是有效的 SM2 PEM".into()))?;
        sm2::dsa::VerifyingKey::new(distid, public)
            .map(PublicKey)
            .map_err(|_| LicenceError::Key("SM2 签名标识无效".into()))
    }

    /// Whether `signature` (hex r ‖ s) is this key's over `bytes`.
    pub fn verify(&self, bytes: &[u8], signature: &str) -> bool {
        verify_with(&self.0, bytes, signature)
    }
}

fn verify_with(key: &sm2::dsa::VerifyingKey, bytes: &[u8], signature: &str) -> bool {
    hex::decode(signature)
        .ok()
        .and_then(|raw| sm2::dsa::Signature::from_slice(&raw).ok())
        .is_some_and(|s| key.verify(bytes, &s).is_ok())
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> LicenceKey {
        use sm2::elliptic_curve::Generate as _;
        LicenceKey::from_secret(&sm2::SecretKey::try_generate().unwrap(), DEFAULT_ID).unwrap()
    }

    #[test]
    fn a_signature_verifies_and_any_change_breaks_it() {
        let key = key();
        let signature = key.sign(b"licence");
        assert_eq!(signature.len(), 128);
        assert!(key.verify(b"licence", &signature));
        assert!(!key.verify(b"licencf", &signature));
        assert!(!key.verify(b"licence", &signature.replace('a', "b").replace('0', "1")));
        assert!(!key.verify(b"licence", "not hex"));
        assert!(!key.verify(b"licence", ""));
        assert!(!self::key().verify(b"licence", &signature), "another key's signature");
    }

    #[test]
    fn verifies_the_standard_example_of_gb_t_32918_5() {
        // GB/T 32918.5-2017 Annex A: the SM2 signature of "message digest" with ID
        // 1234567812345678 by the key d below.
        let d = hex::decode("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8").unwrap();
        let secret = sm2::SecretKey::from_slice(&d).unwrap();
        let key = LicenceKey::from_secret(&secret, DEFAULT_ID).unwrap();
        let r = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3";
        let s = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA";
        assert!(key.verify(b"message digest", &format!("{r}{s}")));
        assert!(!key.verify(b"message digesT", &format!("{r}{s}")));
    }

    #[test]
    fn the_key_file_is_made_once_and_read_back() {
        let dir = std::env::temp_dir().join(format!("govhall-licence-key-{}", uuid::Uuid::now_v7()));
        let path = dir.join("keys/licences-sm2.pem");
        assert!(LicenceKey::load(&path, DEFAULT_ID, false).is_err(), "no file, not asked to make one");
        let made = LicenceKey::load(&path, DEFAULT_ID, true).unwrap();
        let read = LicenceKey::load(&path, DEFAULT_ID, true).unwrap();
        assert_eq!(made.id(), read.id());
        assert!(read.verify(b"x", &made.sign(b"x")));
        assert!(made.public_pem().starts_with("-----BEGIN PUBLIC KEY-----"));
        std::fs::write(&path, "garbage").unwrap();
        let err = LicenceKey::load(&path, DEFAULT_ID, true).unwrap_err();
        assert!(govhall_core::Coded::message(&err).contains("licences-sm2.pem"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
