//! The hall's cryptography in one place: SM4-GCM for personal data at rest, keyed SM3 hashes
//! for looking that data up, SM3 for the audit chain, Argon2id for passwords, and random tokens
//! stored only as hashes.
//!
//! Every key derives from one configured master key (`[identity] master_key`, 32 bytes in hex),
//! each with its own label, so that the keys of different uses never coincide.

use crate::IdentityError;
use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{AesGcm, Nonce};
use argon2::password_hash::phc::{Output, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sm3::{Digest, Sm3};
use sm4::Sm4;

type Sm4Gcm = AesGcm<Sm4, U12>;
type HmacSm3 = Hmac<Sm3>;

/// Bytes of a master key.
pub const MASTER_KEY_BYTES: usize = 32;

/// The keys derived from the master key.
#[derive(Clone)]
pub struct Keys {
    data: [u8; 16],
    lookup: [u8; 32],
    csrf: [u8; 32],
    audit: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(***)")
    }
}

fn derive(master: &[u8], label: &str) -> [u8; 32] {
    let mut mac = HmacSm3::new_from_slice(master).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

impl Keys {
    /// Keys from a master key given as 64 hexadecimal digits.
    pub fn from_hex(master: &str) -> Result<Keys, IdentityError> {
        let bytes = hex::decode(master.trim()).map_err(|_| IdentityError::Config(bad_key()))?;
        if bytes.len() != MASTER_KEY_BYTES {
            return Err(IdentityError::Config(bad_key()));
        }
        Ok(Keys::from_bytes(&bytes))
    }

    fn from_bytes(master: &[u8]) -> Keys {
        let data = derive(master, "govhall/personal-data/sm4");
        let mut data16 = [0u8; 16];
        data16.copy_from_slice(&data[..16]);
        Keys {
            data: data16,
            lookup: derive(master, "govhall/lookup/sm3"),
            csrf: derive(master, "govhall/csrf/sm3"),
            audit: derive(master, "govhall/audit/checkpoint"),
        }
    }

    /// The key the audit log's checkpoints are signed with.
    pub fn checkpoint_key(&self) -> govhall_audit::CheckpointKey {
        govhall_audit::CheckpointKey::new(self.audit)
    }

    /// A new random master key, in hex.
    pub fn generate_master_hex() -> String {
        let mut bytes = [0u8; MASTER_KEY_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        hex::encode(bytes)
    }

    /// Encrypts personal data (an ID number, a mobile number): `base64url(nonce ‖ ciphertext ‖ tag)`.
    pub fn encrypt(&self, plain: &str) -> String {
        let cipher = Sm4Gcm::new_from_slice(&self.data).unwrap_or_else(|_| unreachable!("SM4 keys are 16 bytes"));
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(&Nonce::<U12>::from(nonce), plain.as_bytes())
            .unwrap_or_else(|_| unreachable!("GCM encrypts any short text"));
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Decrypts what [`Keys::encrypt`] made; an altered value or another key is an error.
    pub fn decrypt(&self, sealed: &str) -> Result<String, IdentityError> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| IdentityError::Undecryptable)?;
        if bytes.len() < 12 + 16 {
            return Err(IdentityError::Undecryptable);
        }
        let (nonce, body) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| IdentityError::Undecryptable)?;
        let cipher = Sm4Gcm::new_from_slice(&self.data).unwrap_or_else(|_| unreachable!("SM4 keys are 16 bytes"));
        let plain = cipher.decrypt(&Nonce::<U12>::from(nonce), body).map_err(|_| IdentityError::Undecryptable)?;
        String::from_utf8(plain).map_err(|_| IdentityError::Undecryptable)
    }

    /// The keyed hash stored beside encrypted data to find it: HMAC-SM3, hex.
    pub fn lookup_hash(&self, kind: &str, value: &str) -> String {
        let mut mac = HmacSm3::new_from_slice(&self.lookup).unwrap_or_else(|_| unreachable!());
        mac.update(kind.as_bytes());
        mac.update(b":");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The CSRF token bound to `binding` (a session's or a visitor's random id).
    pub fn csrf_token(&self, binding: &str) -> String {
        let mut mac = HmacSm3::new_from_slice(&self.csrf).unwrap_or_else(|_| unreachable!());
        mac.update(binding.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Whether `token` is the CSRF token for `binding`, compared in constant time.
    pub fn csrf_valid(&self, binding: &str, token: &str) -> bool {
        constant_time_eq(self.csrf_token(binding).as_bytes(), token.as_bytes())
    }
}

fn bad_key() -> String {
    "identity.master_key 必须是 64 位十六进制数字（32 字节），可用 `govhall user gen-key` 生成".to_owned()
}

/// SM3 of `data`, hex.
pub fn sm3_hex(data: &[u8]) -> String {
    hex::encode(Sm3::digest(data))
}

/// A new random token (32 bytes, base64url): for sessions, bearer tokens, CSRF bindings.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How a token is stored: its SHA-256 would do as well, SM3 keeps to one family.
pub fn token_hash(token: &str) -> String {
    sm3_hex(token.as_bytes())
}

fn argon2() -> Argon2<'static> {
    // OWASP's second recommendation: 19 MiB, two passes, one lane.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_else(|_| unreachable!("valid Argon2 parameters"));
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The most memory a stored hash may ask for (64 MiB): a hash naming more is refused, not run.
const MAX_BLOCKS: usize = 64 * 1024;

/// Argon2's working memory, kept between checks. Each check holds one buffer; the number of
/// checks at once is bounded by the caller (`Identity`'s password gate), so the buffers never
/// outnumber it. Reusing them keeps the allocator from growing its heap by 19 MiB per
/// concurrent check and never giving it back.
static MEMORY: std::sync::Mutex<Vec<Vec<Block>>> = std::sync::Mutex::new(Vec::new());

fn with_memory<T>(blocks: usize, run: impl FnOnce(&mut [Block]) -> T) -> T {
    let taken = MEMORY.lock().ok().and_then(|mut pool| pool.pop());
    let mut memory = taken.unwrap_or_default();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let result = run(&mut memory[..blocks]);
    if let Ok(mut pool) = MEMORY.lock() {
        pool.push(memory);
    }
    result
}

/// An Argon2id PHC string for a password.
pub fn hash_password(password: &str) -> Result<String, IdentityError> {
    let argon = argon2();
    let params = argon.params().clone();
    let mut salt_bytes = [0u8; Salt::RECOMMENDED_LENGTH];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt = Salt::new(&salt_bytes).map_err(|e| IdentityError::Internal(format!("argon2: {e}")))?;
    let mut out = [0u8; 32];
    with_memory(params.block_count(), |memory| {
        argon.hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut out, memory)
    })
    .map_err(|e| IdentityError::Internal(format!("argon2: {e}")))?;
    let output = Output::new(&out).map_err(|e| IdentityError::Internal(format!("argon2: {e}")))?;
    let mut encoded = [0u8; 64];
    let hash = output.encode(&mut encoded).map_err(|e| IdentityError::Internal(format!("argon2: {e}")))?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${hash}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        salt.to_salt_string()
    ))
}

/// Whether `password` matches a stored PHC string.
pub fn verify_password(password: &str, stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else { return false };
    let (Some(salt), Some(expected), Ok(params)) = (hash.salt, hash.hash, Params::try_from(&hash)) else {
        return false;
    };
    if hash.algorithm != Algorithm::Argon2id.ident() || params.block_count() > MAX_BLOCKS {
        return false;
    }
    let version = match hash.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let argon = Argon2::new(Algorithm::Argon2id, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    with_memory(params.block_count(), |memory| {
        argon.hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut out, memory)
    })
    .is_ok()
        && constant_time_eq(&out, expected.as_bytes())
}

/// A hash to verify against when the account does not exist, so that a wrong login name takes as
/// long as a wrong password.
pub fn dummy_password_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("govhall-dummy-password").unwrap_or_default())
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::from_hex(&"11".repeat(32)).unwrap()
    }

    #[test]
    fn sm4_round_trip_and_tamper() {
        let k = keys();
        let sealed = k.encrypt("37010219900307123X");
        assert_ne!(sealed, k.encrypt("37010219900307123X"), "a fresh nonce each time");
        assert!(!sealed.contains("3701"));
        assert_eq!(k.decrypt(&sealed).unwrap(), "37010219900307123X");
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        bytes[14] ^= 1;
        assert!(matches!(k.decrypt(&URL_SAFE_NO_PAD.encode(bytes)), Err(IdentityError::Undecryptable)));
        let other = Keys::from_hex(&"22".repeat(32)).unwrap();
        assert!(other.decrypt(&sealed).is_err());
    }

    #[test]
    fn sm4_matches_the_standard_vector() {
        // GB/T 32907-2016, appendix A.1: one block with the key equal to the plaintext.
        use sm4::cipher::{BlockCipherEncrypt, KeyInit as _};
        let key = hex::decode("0123456789abcdeffedcba9876543210").unwrap();
        let cipher = Sm4::new_from_slice(&key).unwrap();
        let mut block = sm4::cipher::Block::<Sm4>::try_from(&key[..]).unwrap();
        cipher.encrypt_block(&mut block);
        assert_eq!(hex::encode(block), "681edf34d206965e86b3e94f536e4246");
    }

    #[test]
    fn sm3_matches_the_standard_vector() {
        assert_eq!(sm3_hex(b"abc"), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
    }

    #[test]
    fn lookup_hashes_are_keyed_and_kind_separated() {
        let k = keys();
        assert_eq!(k.lookup_hash("phone", "13800000000"), k.lookup_hash("phone", "13800000000"));
        assert_ne!(k.lookup_hash("phone", "13800000000"), k.lookup_hash("id", "13800000000"));
        assert_ne!(
            k.lookup_hash("phone", "13800000000"),
            Keys::from_hex(&"22".repeat(32)).unwrap().lookup_hash("phone", "13800000000")
        );
    }

    #[test]
    fn passwords() {
        let h = hash_password("正确的密码Abc1").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("正确的密码Abc1", &h));
        assert!(!verify_password("正确的密码Abc2", &h));
        assert!(!verify_password("x", "not a hash"));
        // Hashes written by the argon2 crate's own encoder still verify.
        let theirs = {
            use argon2::password_hash::PasswordHasher;
            argon2().hash_password(b"Abc12345").unwrap().to_string()
        };
        assert!(verify_password("Abc12345", &theirs));
        assert!(!verify_password("Abc12346", &theirs));
        // A stored hash asking for 1 GiB is refused without running it.
        assert!(!verify_password("Abc12345", &theirs.replace("m=19456", "m=1048576")));
    }

    #[test]
    fn master_keys_must_be_32_bytes_of_hex() {
        assert!(Keys::from_hex("abc").is_err());
        assert!(Keys::from_hex(&"zz".repeat(32)).is_err());
        assert!(Keys::from_hex(&Keys::generate_master_hex()).is_ok());
    }

    #[test]
    fn csrf_tokens_bind() {
        let k = keys();
        let t = k.csrf_token("session-a");
        assert!(k.csrf_valid("session-a", &t));
        assert!(!k.csrf_valid("session-b", &t));
        assert!(!k.csrf_valid("session-a", ""));
    }
}
