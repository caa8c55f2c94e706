//! Key generation for every type OpenSSH uses, with the size rules checked before any work.
//!
//! RSA is the slow one: almost all the time goes into finding the two primes. `rsa`'s own
//! generator finds p and then q on one thread; here every available core searches at once and
//! the first two primes found win, which roughly halves the time on two cores and also
//! narrows the (large) spread of a single search. Ed25519, ECDSA and DSA are fast and go
//! through `PrivateKey::random`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crypto_bigint::{NonZero, Resize};
use crypto_primes::hazmat::{SetBits, SieveFactory, SmallFactorsSieveFactory};
use crypto_primes::{Flavor, is_prime};
use rsa::BoxedUint;
use rsa::traits::PublicKeyParts;
use russh::keys::ssh_key::private::{KeypairData, RsaKeypair};
use russh::keys::ssh_key::{self, Algorithm, EcdsaCurve, Mpint, PrivateKey};

use crate::cli::KeyType;
use crate::error::{Error, Result};

/// RSA sizes: OpenSSH cannot use more than 16384 bits; keys under 2048 bits are below every
/// current recommendation (NIST, OpenSSH's own default is 3072), so herossh does not make them.
pub const RSA_MIN_BITS: u32 = 2048;
pub const RSA_MAX_BITS: u32 = 16384;
pub const RSA_DEFAULT_BITS: u32 = 3072;
/// OpenSSH's public exponent.
const RSA_EXPONENT: u64 = 65537;

/// A validated key type and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    pub key_type: KeyType,
    pub bits: u32,
}

impl KeySpec {
    /// Check `-b` against the type, with the defaults ssh-keygen uses when it is absent.
    pub fn new(key_type: KeyType, bits: Option<u32>) -> Result<Self> {
        let bits = match (key_type, bits) {
            (KeyType::Rsa, None) => RSA_DEFAULT_BITS,
            (KeyType::Rsa, Some(b)) if (RSA_MIN_BITS..=RSA_MAX_BITS).contains(&b) => b,
            (KeyType::Rsa, Some(b)) => {
                return Err(Error::usage(format!(
                    "RSA keys must be {RSA_MIN_BITS} to {RSA_MAX_BITS} bits, not {b} (smaller \
                     keys are refused by Heroku, GitHub and current OpenSSH policy; OpenSSH \
                     cannot use larger ones)"
                )));
            }
            (KeyType::Dsa, None | Some(1024)) => 1024,
            (KeyType::Dsa, Some(b)) => {
                return Err(Error::usage(format!(
                    "DSA keys are always 1024 bits in OpenSSH, not {b}"
                )));
            }
            (KeyType::Ed25519, None | Some(256)) => 256,
            (KeyType::Ed25519, Some(b)) => {
                return Err(Error::usage(format!(
                    "Ed25519 keys have a fixed size (256 bits), not {b}; drop -b"
                )));
            }
            (KeyType::Ecdsa, None) => 256,
            (KeyType::Ecdsa, Some(b @ (256 | 384 | 521))) => b,
            (KeyType::Ecdsa, Some(b)) => {
                return Err(Error::usage(format!(
                    "ECDSA keys must be 256, 384 or 521 bits, not {b}"
                )));
            }
        };
        Ok(KeySpec { key_type, bits })
    }

    /// The lower-case name ssh-keygen uses in messages and default file names (`id_<name>`).
    pub fn type_name(&self) -> &'static str {
        match self.key_type {
            KeyType::Rsa => "rsa",
            KeyType::Dsa => "dsa",
            KeyType::Ed25519 => "ed25519",
            KeyType::Ecdsa => "ecdsa",
        }
    }
}

/// Generate an unencrypted private key with `comment`.
pub fn generate(spec: KeySpec, comment: &str) -> Result<PrivateKey> {
    let mut rng = rand::rng();
    let algorithm = match spec.key_type {
        KeyType::Rsa => {
            let data = KeypairData::from(rsa_keypair(spec.bits)?);
            return PrivateKey::new(data, comment).map_err(crypto_error);
        }
        KeyType::Dsa => Algorithm::Dsa,
        KeyType::Ed25519 => Algorithm::Ed25519,
        KeyType::Ecdsa => Algorithm::Ecdsa {
            curve: match spec.bits {
                384 => EcdsaCurve::NistP384,
                521 => EcdsaCurve::NistP521,
                _ => EcdsaCurve::NistP256,
            },
        },
    };
    let mut key = PrivateKey::random(&mut rng, algorithm).map_err(crypto_error)?;
    key.set_comment(comment);
    Ok(key)
}

fn crypto_error(e: impl std::fmt::Display) -> Error {
    Error::failed(format!("key generation failed: {e}"))
}

/// An RSA key of exactly `bits` bits from two primes found in parallel.
fn rsa_keypair(bits: u32) -> Result<RsaKeypair> {
    let sizes = [bits / 2, bits - bits / 2];
    // A pair is unusable only when 65537 divides p-1 or q-1 (about 1 in 30000): search again.
    for _ in 0..8 {
        let [p, q] = two_primes(sizes)?;
        let Ok(key) = rsa::RsaPrivateKey::from_p_q(p, q, BoxedUint::from(RSA_EXPONENT)) else {
            continue;
        };
        if key.n().as_ref().bits() == bits {
            return openssh_rsa_keypair(&key);
        }
    }
    Err(Error::failed(format!(
        "could not build a {bits}-bit RSA key from the primes found"
    )))
}

/// ssh-key's own conversion asks `rsa` for the CRT coefficient, which panics when p and q
/// have different limb counts (any odd size such as 2049 bits); compute it on equal widths.
fn openssh_rsa_keypair(key: &rsa::RsaPrivateKey) -> Result<RsaKeypair> {
    use rsa::traits::PrivateKeyParts;
    let [p, q] = key.primes() else {
        return Err(crypto_error("RSA key without exactly two primes"));
    };
    let width = p.bits_precision().max(q.bits_precision());
    let (pw, qw) = (
        p.clone().resize_unchecked(width),
        q.clone().resize_unchecked(width),
    );
    let modulus = Option::<NonZero<BoxedUint>>::from(NonZero::new(pw))
        .ok_or_else(|| crypto_error("zero RSA prime"))?;
    let iqmp = Option::<BoxedUint>::from(qw.invert_mod(&modulus))
        .ok_or_else(|| crypto_error("RSA primes are not coprime"))?;
    let public =
        ssh_key::public::RsaPublicKey::try_from(key.to_public_key()).map_err(crypto_error)?;
    let private = ssh_key::private::RsaPrivateKey::new(
        Mpint::from(key.d()),
        Mpint::from(&iqmp),
        Mpint::from(p),
        Mpint::from(q),
    )
    .map_err(crypto_error)?;
    RsaKeypair::new(public, private).map_err(crypto_error)
}

/// Worker threads for the prime search: every core, and at least two so p and q are searched
/// side by side even where the core count is unknown.
pub fn rsa_search_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 16)
}

/// What the workers share: the two slots to fill and the signal to stop.
struct Search {
    sizes: [u32; 2],
    slots: Mutex<[Option<BoxedUint>; 2]>,
    done: AtomicBool,
}

impl Search {
    /// Store a prime found for slot `wanted`; returns the next slot to search for, or None when
    /// both are filled (and tells everyone to stop).
    fn offer(&self, wanted: usize, prime: BoxedUint) -> Option<usize> {
        let Ok(mut slots) = self.slots.lock() else {
            self.done.store(true, Ordering::SeqCst);
            return None;
        };
        let other = 1 - wanted;
        let place = if slots[wanted].is_none() {
            Some(wanted)
        } else if self.sizes[other] == self.sizes[wanted]
            && slots[other].is_none()
            && slots[wanted].as_ref() != Some(&prime)
        {
            Some(other)
        } else {
            None
        };
        if let Some(i) = place {
            slots[i] = Some(prime);
        }
        match slots.iter().position(Option::is_none) {
            Some(next) => Some(next),
            None => {
                self.done.store(true, Ordering::SeqCst);
                None
            }
        }
    }

    fn worker(&self, first: usize) {
        let mut rng = rand::rng();
        let mut wanted = first;
        while !self.done.load(Ordering::SeqCst) {
            let Ok(mut factory) = SmallFactorsSieveFactory::<BoxedUint>::new(
                Flavor::Any,
                self.sizes[wanted],
                SetBits::TwoMsb,
            ) else {
                return;
            };
            let Ok(Some(sieve)) = factory.make_sieve(&mut rng, None) else {
                return;
            };
            for candidate in sieve {
                if self.done.load(Ordering::SeqCst) {
                    return;
                }
                if is_prime(Flavor::Any, &candidate) {
                    match self.offer(wanted, candidate) {
                        Some(next) => wanted = next,
                        None => return,
                    }
                    break;
                }
            }
        }
    }
}

/// Two distinct primes with the top two bits set, of `sizes[0]` and `sizes[1]` bits (so their
/// product has exactly the sum of the sizes), searched for on every core.
fn two_primes(sizes: [u32; 2]) -> Result<[BoxedUint; 2]> {
    let search = Search {
        sizes,
        slots: Mutex::new([None, None]),
        done: AtomicBool::new(false),
    };
    std::thread::scope(|scope| {
        for i in 0..rsa_search_threads() {
            let search = &search;
            scope.spawn(move || search.worker(i % 2));
        }
    });
    let slots = search
        .slots
        .into_inner()
        .map_err(|_| Error::failed("RSA prime search failed (a worker panicked)"))?;
    match slots {
        [Some(p), Some(q)] => Ok([p, q]),
        _ => Err(Error::failed("RSA prime search failed")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sshkeys::{key_bits, key_type_label};

    #[test]
    fn sizes_are_checked_per_type() {
        assert_eq!(KeySpec::new(KeyType::Rsa, None).unwrap().bits, 3072);
        assert_eq!(KeySpec::new(KeyType::Rsa, Some(4096)).unwrap().bits, 4096);
        for bad in [1024, 2047, 16385] {
            let e = KeySpec::new(KeyType::Rsa, Some(bad)).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.message.contains("2048 to 16384"), "{}", e.message);
        }
        assert!(KeySpec::new(KeyType::Dsa, Some(2048)).is_err());
        assert_eq!(KeySpec::new(KeyType::Dsa, None).unwrap().bits, 1024);
        assert!(KeySpec::new(KeyType::Ed25519, Some(512)).is_err());
        assert_eq!(KeySpec::new(KeyType::Ecdsa, None).unwrap().bits, 256);
        assert_eq!(KeySpec::new(KeyType::Ecdsa, Some(521)).unwrap().bits, 521);
        assert!(KeySpec::new(KeyType::Ecdsa, Some(512)).is_err());
    }

    #[test]
    fn parallel_rsa_has_exact_size_even_for_odd_bit_counts() {
        for bits in [2048, 2049] {
            let spec = KeySpec::new(KeyType::Rsa, Some(bits)).unwrap();
            let key = generate(spec, "c").unwrap();
            assert_eq!(key_bits(key.public_key()), bits);
            assert_eq!(key_type_label(key.public_key()), "ssh-rsa");
            assert_eq!(key.comment().as_str_lossy(), "c");
        }
    }

    #[test]
    fn two_primes_are_distinct_and_sized() {
        let [p, q] = two_primes([64, 64]).unwrap();
        assert_ne!(p, q);
        assert_eq!(p.bits(), 64);
        assert_eq!(q.bits(), 64);
        assert!(is_prime(Flavor::Any, &p) && is_prime(Flavor::Any, &q));
    }
}
