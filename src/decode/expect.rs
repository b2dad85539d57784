//! ctnetlink_exp attributes of one expectation message → an [`Expectation`].

use super::entry::{decode_tuple, empty_tuple};
use super::*;
use crate::model::entry::Family;
use crate::model::expect::{ExpectNat, Expectation};

/// Decodes one expectation: `family` is the nfgenmsg family of the message and
/// `attributes` the bytes after the nfgenmsg header.
pub fn decode_expectation(family: u8, attributes: &[u8]) -> Result<Expectation<'_>> {
    let mut expectation = Expectation {
        family: Family::from_raw(family),
        expected: empty_tuple(),
        mask: empty_tuple(),
        master: empty_tuple(),
        timeout: None,
        id: None,
        flags: None,
        class: None,
        zone: None,
        helper: None,
        nat: None,
        function: None,
    };
    let mut saw_expected = false;
    for attribute in attrs(attributes, "the expectation") {
        let (kind, value) = attribute?;
        match kind {
            CTA_EXPECT_MASTER => expectation.master = decode_tuple(value, "CTA_EXPECT_MASTER")?,
            CTA_EXPECT_TUPLE => {
                expectation.expected = decode_tuple(value, "CTA_EXPECT_TUPLE")?;
                saw_expected = true;
            }
            CTA_EXPECT_MASK => expectation.mask = decode_tuple(value, "CTA_EXPECT_MASK")?,
            CTA_EXPECT_TIMEOUT => expectation.timeout = Some(be_u32(value, "CTA_EXPECT_TIMEOUT")?),
            CTA_EXPECT_ID => expectation.id = Some(be_u32(value, "CTA_EXPECT_ID")?),
            CTA_EXPECT_HELP_NAME => expectation.helper = Some(c_string(value)),
            CTA_EXPECT_ZONE => expectation.zone = Some(be_u16(value, "CTA_EXPECT_ZONE")?),
            CTA_EXPECT_FLAGS => expectation.flags = Some(be_u32(value, "CTA_EXPECT_FLAGS")?),
            CTA_EXPECT_CLASS => expectation.class = Some(be_u32(value, "CTA_EXPECT_CLASS")?),
            CTA_EXPECT_NAT => expectation.nat = Some(decode_nat(value)?),
            CTA_EXPECT_FN => expectation.function = Some(c_string(value)),
            _ => {}
        }
    }
    if !saw_expected {
        return Err(DecodeError::Missing("CTA_EXPECT_TUPLE"));
    }
    Ok(expectation)
}

fn decode_nat(bytes: &[u8]) -> Result<ExpectNat> {
    let mut nat = ExpectNat {
        direction: IP_CT_DIR_ORIGINAL,
        tuple: empty_tuple(),
    };
    for attribute in attrs(bytes, "CTA_EXPECT_NAT") {
        let (kind, value) = attribute?;
        match kind {
            CTA_EXPECT_NAT_DIR => nat.direction = be_u32(value, "CTA_EXPECT_NAT_DIR")?,
            CTA_EXPECT_NAT_TUPLE => nat.tuple = decode_tuple(value, "CTA_EXPECT_NAT_TUPLE")?,
            _ => {}
        }
    }
    Ok(nat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expectation_needs_its_tuple() {
        let master_only = [4, 0, CTA_EXPECT_MASTER as u8, 0x80];
        assert_eq!(
            decode_expectation(AF_INET, &master_only).unwrap_err(),
            DecodeError::Missing("CTA_EXPECT_TUPLE")
        );
    }

    #[test]
    fn a_bad_length_names_the_attribute() {
        let bytes = [
            4,
            0,
            CTA_EXPECT_TUPLE as u8,
            0x80,
            6,
            0,
            CTA_EXPECT_CLASS as u8,
            0,
            0,
            1,
            0,
            0,
        ];
        assert_eq!(
            decode_expectation(AF_INET, &bytes).unwrap_err().to_string(),
            "invalid CTA_EXPECT_CLASS value: 2 bytes instead of 4 bytes"
        );
    }

    #[test]
    fn names_end_at_their_nul() {
        let bytes = [
            4,
            0,
            CTA_EXPECT_TUPLE as u8,
            0x80,
            8,
            0,
            CTA_EXPECT_HELP_NAME as u8,
            0,
            b'f',
            b't',
            b'p',
            0,
        ];
        assert_eq!(
            decode_expectation(AF_INET, &bytes).unwrap().helper,
            Some(&b"ftp"[..])
        );
    }
}
