//! Fixed-width base62 encoding (`0-9A-Za-z`) used by tokens and identifiers.

/// The alphabet, in ascending value order.
pub const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Encodes `bytes` as a big-endian number in base62, left-padded with `0` to
/// exactly `width` characters. Panics in debug builds if `width` is too small,
/// which is a programming error, never input-dependent.
pub fn encode_fixed(bytes: &[u8], width: usize) -> String {
    let mut number = bytes.to_vec();
    let mut digits = Vec::with_capacity(width);
    while number.iter().any(|&b| b != 0) {
        let mut remainder: u32 = 0;
        for byte in number.iter_mut() {
            let acc = (remainder << 8) | u32::from(*byte);
            *byte = (acc / 62) as u8;
            remainder = acc % 62;
        }
        digits.push(ALPHABET[remainder as usize]);
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

    #[test]
    fn encodes_known_values() {
        assert_eq!(encode_u32(0, 6), "000000");
        assert_eq!(encode_u32(61, 6), "00000z");
        assert_eq!(encode_u32(62, 6), "000010");
        assert_eq!(encode_u32(u32::MAX, 6), "4gfFC3");
    }
}
