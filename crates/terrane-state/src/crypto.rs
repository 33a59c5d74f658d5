//! Encryption at rest: attribute values, outputs, journal records and intents are
//! sealed with AES-256-GCM under a key derived from a passphrase with Argon2id.
//! Addresses, providers and serials stay readable: they are needed to query state
//! and say nothing secret.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;

use crate::StateError;

/// Marks a sealed value; anything else is plain text.
const SEALED: &str = "enc:v1:";

/// What the key check seals, so a wrong key is caught before anything is read or written.
pub const KEY_CHECK: &str = "terrane state key check";

pub struct Cipher {
    aead: Aes256Gcm,
}

impl Cipher {
    /// Argon2id (the crate's defaults: 19 MiB, 2 passes) over the passphrase and salt.
    pub fn from_passphrase(passphrase: &str, salt: &[u8]) -> Result<Cipher, StateError> {
        let mut key = [0u8; 32];
        argon2::Argon2::default()
            .hash_password_into(passphrase.as_bytes(), salt, &mut key)
            .map_err(|e| StateError::Data(format!("cannot derive the state key: {e}")))?;
        Ok(Cipher { aead: Aes256Gcm::new(&key.into()) })
    }

    pub fn seal(&self, plain: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        // Encryption with a fresh nonce cannot fail for inputs of this size.
        let sealed = self.aead.encrypt(&nonce, plain.as_bytes()).unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!("{SEALED}{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes))
    }

    pub fn open(&self, stored: &str) -> Result<String, StateError> {
        let Some(body) = stored.strip_prefix(SEALED) else { return Ok(stored.to_string()) };
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(body)
            .map_err(|_| StateError::Data("a sealed state value is damaged".into()))?;
        if bytes.len() < 12 {
            return Err(StateError::Data("a sealed state value is damaged".into()));
        }
        let (nonce, sealed) = bytes.split_at(12);
        let plain = self.aead.decrypt(Nonce::from_slice(nonce), sealed).map_err(|_| StateError::WrongKey)?;
        String::from_utf8(plain).map_err(|_| StateError::Data("a sealed state value is not text".into()))
    }
}

/// What opening a store with (or without) a key comes to.
pub enum KeySetup<'k> {
    Plain,
    Open(Cipher),
    /// A plain state and a key: everything must be sealed under this passphrase now.
    SealWith(&'k str),
}

/// Decides from the stored key check and salt; refuses a sealed state without its key.
pub fn key_setup<'k>(check: Option<String>, salt: Option<String>, key: Option<&'k str>) -> Result<KeySetup<'k>, StateError> {
    match (check, key) {
        (None, None) => Ok(KeySetup::Plain),
        (Some(_), None) => Err(StateError::KeyRequired),
        (None, Some(key)) => Ok(KeySetup::SealWith(key)),
        (Some(check), Some(key)) => {
            let cipher = Cipher::from_passphrase(key, &decode(&salt.unwrap_or_default())?)?;
            match cipher.open(&check) {
                Ok(text) if text == KEY_CHECK => Ok(KeySetup::Open(cipher)),
                _ => Err(StateError::WrongKey),
            }
        }
    }
}

pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED)
}

/// A stored value as text: opened when sealed, refused when sealed and no key is set.
pub fn reveal(cipher: Option<&Cipher>, stored: &str) -> Result<String, StateError> {
    match cipher {
        Some(c) => c.open(stored),
        None if is_sealed(stored) => Err(StateError::KeyRequired),
        None => Ok(stored.to_string()),
    }
}

/// A value as it is stored: sealed when a key is set.
pub fn conceal(cipher: Option<&Cipher>, plain: &str) -> String {
    match cipher {
        Some(c) => c.seal(plain),
        None => plain.to_string(),
    }
}

pub fn new_salt() -> Vec<u8> {
    Aes256Gcm::generate_nonce(&mut OsRng).iter().chain(Aes256Gcm::generate_nonce(&mut OsRng).iter()).copied().take(16).collect()
}

pub fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

pub fn decode(text: &str) -> Result<Vec<u8>, StateError> {
    base64::engine::general_purpose::STANDARD_NO_PAD.decode(text).map_err(|_| StateError::Data("the state key salt is damaged".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key() {
        let salt = new_salt();
        let right = Cipher::from_passphrase("correct horse", &salt).unwrap();
        let wrong = Cipher::from_passphrase("battery staple", &salt).unwrap();
        let sealed = right.seal("{\"password\":\"hunter2\"}");
        assert!(is_sealed(&sealed) && !sealed.contains("hunter2"));
        assert_ne!(sealed, right.seal("{\"password\":\"hunter2\"}"), "every seal uses a fresh nonce");
        assert_eq!(right.open(&sealed).unwrap(), "{\"password\":\"hunter2\"}");
        assert!(matches!(wrong.open(&sealed), Err(StateError::WrongKey)));
        assert!(matches!(reveal(None, &sealed), Err(StateError::KeyRequired)));
        assert_eq!(reveal(None, "plain").unwrap(), "plain");
    }
}
