//! The query password (查询密码) given with a serial number (DOMAIN.md): 8 characters from an
//! alphabet without look-alikes, from a cryptographic source, kept only as a keyed hash.
//!
//! The hash is HMAC-SM3 under a key derived from the hall's master key, over the serial number
//! and the password: the database alone (a backup, a leaked dump) gives nothing to guess
//! against, and the same password on two cases hashes differently. A slow hash (Argon2id, as for
//! account passwords) would make every look-up cost ~30 ms of CPU: 63 look-ups a second on two
//! cores, and a cheap way to load the hall; guessing online is what the throttle and the lock
//! of [`crate::progress`] stop, and 30⁸ ≈ 6.6 × 10¹¹ passwords leave nothing to guess in five
//! tries.

use govhall_identity::Keys;
use govhall_identity::crypto::constant_time_eq;
use rand::Rng;

/// Digits 2–9 and capitals without I, O, Q, Z: nothing to misread.
pub const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPRSTUVWXY";

/// Characters in a query password.
pub const LENGTH: usize = 8;

/// A new query password.
pub fn generate() -> String {
    let mut rng = rand::rng();
    (0..LENGTH).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}

/// What people type, as it was issued: spaces dropped, lower case raised.
pub fn normalize(typed: &str) -> String {
    typed.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_uppercase).collect()
}

/// The stored hash of the password of the case numbered `serial`.
pub fn hash(keys: &Keys, serial: &str, password: &str) -> String {
    keys.lookup_hash("query_password", &format!("{serial}:{}", normalize(password)))
}

/// Whether `typed` is the password of the case numbered `serial` (compared in constant time).
pub fn verify(keys: &Keys, serial: &str, typed: &str, stored: &str) -> bool {
    constant_time_eq(hash(keys, serial, typed).as_bytes(), stored.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn passwords_use_only_the_unambiguous_alphabet() {
        let mut seen = BTreeSet::new();
        for _ in 0..2000 {
            let p = generate();
            assert_eq!(p.len(), LENGTH);
            assert!(p.bytes().all(|b| ALPHABET.contains(&b)), "{p}");
            seen.insert(p);
        }
        assert_eq!(seen.len(), 2000, "no repeats in 2,000 draws");
        for bad in ['0', '1', 'I', 'O', 'Q', 'Z'] {
            assert!(!ALPHABET.contains(&(bad as u8)));
        }
        assert_eq!(ALPHABET.len(), 30);
    }

    #[test]
    fn typed_passwords_forgive_case_and_spaces_and_belong_to_one_case() {
        let keys = Keys::from_hex(&"ab".repeat(32)).unwrap();
        let stored = hash(&keys, "010101000001", "AB23CD45");
        assert!(verify(&keys, "010101000001", "ab23 cd45", &stored));
        assert!(verify(&keys, "010101000001", "AB23-CD45", &stored));
        assert!(!verify(&keys, "010101000001", "AB23CD46", &stored));
        assert!(!verify(&keys, "010101000002", "AB23CD45", &stored), "another case's number");
        assert_ne!(stored, hash(&keys, "010101000002", "AB23CD45"));
        let other = Keys::from_hex(&"cd".repeat(32)).unwrap();
        assert!(!verify(&other, "010101000001", "AB23CD45", &stored), "another hall's key");
        assert!(!stored.contains("AB23CD45"));
    }
}
