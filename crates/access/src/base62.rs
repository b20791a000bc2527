//! Fixed-width base62 encoding (`0-9A-Za-z`) used by tokens and identifiers.

/// The alphabet, in ascending value order.
pub const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Encodes `bytes` as a big-endian number in base62, left-padded with `0` to
/// exactly `width` characters. Panics in debug builds if `width` is too small,
/// which is a programming error, never input-dependent.
///
/// The number is held in 32-bit limbs and divided by 62^5 per pass, five
/// digits at a time (a token's 43 digits take 9 passes over 8 limbs, where
/// a digit at a time over bytes took 43 over 32).
pub fn encode_fixed(bytes: &[u8], width: usize) -> String {
    const CHUNK: u64 = 62u64.pow(5);
    let mut limbs = vec![0u32; bytes.len().div_ceil(4)];
    let pad = limbs.len() * 4 - bytes.len();
    for (i, &byte) in bytes.iter().enumerate() {
        let at = pad + i;
        limbs[at / 4] |= u32::from(byte) << (8 * (3 - at % 4));
    }
    let mut digits = Vec::with_capacity(width + 5);
    let mut first = 0; // limbs before it are zero
    while first < limbs.len() {
        let mut remainder: u64 = 0;
        for limb in &mut limbs[first..] {
            let acc = (remainder << 32) | u64::from(*limb);
            *limb = (acc / CHUNK) as u32;
            remainder = acc % CHUNK;
        }
        for _ in 0..5 {
            digits.push(ALPHABET[(remainder % 62) as usize]);
            remainder /= 62;
        }
        while first < limbs.len() && limbs[first] == 0 {
            first += 1;
        }
    }
    // The last pass may have written leading zeros past the number's digits.
    while digits.len() > width && digits.last() == Some(&b'0') {
        digits.pop();
    }
    debug_assert!(digits.len() <= width, "base62 width {width} too small");
    digits.resize(width.max(digits.len()), b'0');
    digits.reverse();
    String::from_utf8(digits).expect("base62 alphabet is ASCII")
}

/// Encodes a `u32` in exactly `width` base62 characters.
pub fn encode_u32(value: u32, width: usize) -> String {
    encode_fixed(&value.to_be_bytes(), width)
}

/// Whether `s` is `value` encoded as by [`encode_u32`] with `s.len()`
/// characters, without allocating (checked on every request).
pub fn matches_u32(s: &str, value: u32) -> bool {
    let mut rest = value;
    for &digit in s.as_bytes().iter().rev() {
        if digit != ALPHABET[(rest % 62) as usize] {
            return false;
        }
        rest /= 62;
    }
    rest == 0
}

/// True when every byte of `s` is in the base62 alphabet.
pub fn is_base62(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Number of base62 characters needed for `n` random bytes.
pub const fn width_for_bytes(n: usize) -> usize {
    // ceil(n * 8 / log2(62)); log2(62) ≈ 5.9542. Exact for the sizes used here.
    (n * 8 * 10_000).div_ceil(59_542)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_match_the_token_format() {
        assert_eq!(width_for_bytes(32), 43);
        assert_eq!(width_for_bytes(4), 6);
        assert_eq!(encode_u32(u32::MAX, 6).len(), 6);
        assert_eq!(encode_fixed(&[0xff; 32], 43).len(), 43);
    }

    #[test]
    fn matching_agrees_with_encoding() {
        for value in [0, 1, 61, 62, 3843, 3844, 0xdead_beef, u32::MAX] {
            let encoded = encode_u32(value, 6);
            assert!(matches_u32(&encoded, value), "{value}");
            assert!(!matches_u32(&encoded, value.wrapping_add(1)), "{value}");
        }
        assert!(!matches_u32("00001", u32::MAX), "too short to hold the value");
    }

    /// The definition: one base62 digit at a time, dividing the bytes.
    fn encode_by_bytes(bytes: &[u8], width: usize) -> String {
        let mut number = bytes.to_vec();
        let mut digits = Vec::new();
        while number.iter().any(|&b| b != 0) {
            let mut remainder: u32 = 0;
            for byte in number.iter_mut() {
                let acc = (remainder << 8) | u32::from(*byte);
                *byte = (acc / 62) as u8;
                remainder = acc % 62;
            }
            digits.push(ALPHABET[remainder as usize]);
        }
        digits.resize(width.max(digits.len()), b'0');
        digits.reverse();
        String::from_utf8(digits).expect("ascii")
    }

    proptest::proptest! {
        #[test]
        fn five_digits_at_a_time_is_one_at_a_time(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..40)) {
            let width = width_for_bytes(bytes.len());
            proptest::prop_assert_eq!(encode_fixed(&bytes, width), encode_by_bytes(&bytes, width));
        }
    }

    #[test]
    fn edge_values_encode_as_by_definition() {
        for len in 0..=40 {
            let width = width_for_bytes(len);
            for fill in [0x00, 0x01, 0x3d, 0x3e, 0x80, 0xff] {
                let bytes = vec![fill; len];
                assert_eq!(encode_fixed(&bytes, width), encode_by_bytes(&bytes, width), "{len} × {fill:#x}");
            }
            let mut one = vec![0u8; len];
            if let Some(last) = one.last_mut() {
                *last = 1;
            }
            assert_eq!(encode_fixed(&one, width), encode_by_bytes(&one, width), "{len}: one");
        }
        // Wider than the number needs: zeros in front.
        assert_eq!(encode_fixed(&[1], 10), "0000000001");
        assert_eq!(encode_fixed(&[0xff; 32], 50), encode_by_bytes(&[0xff; 32], 50));
    }

    #[test]
    fn encodes_known_values() {
        assert_eq!(encode_u32(0, 6), "000000");
        assert_eq!(encode_u32(61, 6), "00000z");
        assert_eq!(encode_u32(62, 6), "000010");
        assert_eq!(encode_u32(u32::MAX, 6), "4gfFC3");
    }
}
