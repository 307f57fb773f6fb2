//! The query password (查询密码) given with a serial number (DOMAIN.md): 8 characters from an
//! alphabet without look-alikes, from a cryptographic source, kept only as an Argon2id hash.

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

/// The stored hash.
pub fn hash(password: &str) -> Result<String, crate::CaseError> {
    govhall_identity::crypto::hash_password(password).map_err(|e| crate::CaseError::Internal(e.to_string()))
}

/// Whether `typed` matches `stored` (Argon2id, so slow on purpose).
pub fn verify(typed: &str, stored: &str) -> bool {
    govhall_identity::crypto::verify_password(&normalize(typed), stored)
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
    fn typed_passwords_forgive_case_and_spaces() {
        let stored = hash("AB23CD45").unwrap();
        assert!(verify("ab23 cd45", &stored));
        assert!(verify("AB23-CD45", &stored));
        assert!(!verify("AB23CD46", &stored));
        assert!(!stored.contains("AB23CD45"));
    }
}
