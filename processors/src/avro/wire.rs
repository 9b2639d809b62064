//! The Confluent wire format's framing: a magic byte 0, the schema id as a 4-byte big-endian
//! integer, then the Avro binary datum.

/// The first byte of every framed value.
pub const MAGIC_BYTE: u8 = 0;
/// The bytes before the datum: the magic byte and the schema id.
pub const HEADER_LEN: usize = 5;

/// Why bytes are not a Confluent-framed value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Fewer than the 5 header bytes.
    #[error("{0} bytes is too short for the Confluent wire format (5 header bytes)")]
    TooShort(usize),
    /// The first byte is not 0.
    #[error("unknown magic byte {0} (the Confluent wire format starts with 0)")]
    BadMagic(u8),
}

/// Writes the header for schema `id` to the start of `out`.
pub fn write_header(id: u32, out: &mut Vec<u8>) {
    out.push(MAGIC_BYTE);
    out.extend_from_slice(&id.to_be_bytes());
}

/// Splits framed bytes into the schema id and the datum.
pub fn split_header(bytes: &[u8]) -> Result<(u32, &[u8]), WireError> {
    if bytes.len() < HEADER_LEN {
        return Err(WireError::TooShort(bytes.len()));
    }
    if bytes[0] != MAGIC_BYTE {
        return Err(WireError::BadMagic(bytes[0]));
    }
    let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    Ok((id, &bytes[HEADER_LEN..]))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn header_is_magic_then_big_endian_id() {
        let mut out = Vec::new();
        write_header(0x0102_0304, &mut out);
        out.extend_from_slice(b"datum");
        assert_eq!(&out[..5], &[0, 1, 2, 3, 4]);
        assert_eq!(split_header(&out).unwrap(), (0x0102_0304, &b"datum"[..]));
    }

    #[test]
    fn every_id_round_trips() {
        for id in [0, 1, 255, 256, 65_535, 1 << 24, u32::MAX] {
            let mut out = Vec::new();
            write_header(id, &mut out);
            assert_eq!(split_header(&out).unwrap(), (id, &[][..]));
        }
    }

    #[test]
    fn short_or_unframed_bytes_are_errors() {
        for n in 0..5 {
            assert_eq!(split_header(&[0; 4][..n]), Err(WireError::TooShort(n)));
        }
        assert_eq!(split_header(b"{\"a\":1}"), Err(WireError::BadMagic(b'{')));
    }
}
