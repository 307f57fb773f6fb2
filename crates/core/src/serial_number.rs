//! The unified serial number (统一申办编号, design section 3.2; DOMAIN.md): `RR SS NN QQQQQQ[QQQ]`,
//! digits only, 12 to 15 of them — the handling region (digits 3–4 of its division code), the
//! issuing service (01–99), the item's nature (01–99), then a sequence of 6 to 9 digits.

use crate::{Coded, ValueError};
use std::fmt;

/// The largest sequence a prefix can reach.
pub const MAX_SEQUENCE: u64 = 999_999_999;

/// What a sequence counts within: region, issuing service, nature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct SerialPrefix {
    /// 00–99: digits 3–4 of the handling region's division code (province 370000 → 00).
    pub region: u8,
    /// 01–99: which number-issuing service.
    pub service: u8,
    /// 01–99: the item's nature code.
    pub nature: u8,
}

fn invalid(reason: impl Into<String>) -> ValueError {
    ValueError::new("invalid_serial_number", "申办编号", reason)
}

impl SerialPrefix {
    /// A prefix from a 6-digit division code, a service number and a nature code, each checked.
    pub fn new(division_code: &str, service: u8, nature: u8) -> Result<SerialPrefix, ValueError> {
        if division_code.len() != 6 || !division_code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValueError::new("invalid_region", "行政区划代码", "应为 6 位数字"));
        }
        let region = division_code[2..4].parse::<u8>().map_err(|_| invalid("的区划部分无法识别"))?;
        SerialPrefix::from_parts(region, service, nature)
    }

    /// A prefix from its three numbers, each checked.
    pub fn from_parts(region: u8, service: u8, nature: u8) -> Result<SerialPrefix, ValueError> {
        if region > 99 {
            return Err(invalid("的区划部分应为 00 到 99"));
        }
        if !(1..=99).contains(&service) {
            return Err(ValueError::new("invalid_service_number", "发号服务编号", "应为 01 到 99"));
        }
        if !(1..=99).contains(&nature) {
            return Err(ValueError::new("invalid_nature_code", "事项性质编码", "应为 01 到 99"));
        }
        Ok(SerialPrefix { region, service, nature })
    }

    /// The six digits.
    pub fn digits(&self) -> String {
        format!("{:02}{:02}{:02}", self.region, self.service, self.nature)
    }

    /// The number with sequence `sequence` (1 to [`MAX_SEQUENCE`]).
    pub fn number(&self, sequence: u64) -> Result<SerialNumber, ValueError> {
        if sequence == 0 {
            return Err(invalid("的序号从 1 开始"));
        }
        if sequence > MAX_SEQUENCE {
            return Err(ValueError::new(
                "serial_numbers_exhausted",
                "申办编号",
                "的序号已用尽（超过 999999999），请更换发号服务编号",
            ));
        }
        Ok(SerialNumber { prefix: *self, sequence })
    }
}

/// A unified serial number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SerialNumber {
    prefix: SerialPrefix,
    sequence: u64,
}

impl SerialNumber {
    /// Reads a serial number: 12 to 15 digits, service and nature from 01, sequence from 1.
    pub fn parse(text: &str) -> Result<SerialNumber, ValueError> {
        let t = text.trim();
        if !(12..=15).contains(&t.len()) || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("应为 12 到 15 位数字"));
        }
        let part = |range: std::ops::Range<usize>| t[range].parse::<u8>().map_err(|_| invalid("无法识别"));
        let prefix = SerialPrefix::from_parts(part(0..2)?, part(2..4)?, part(4..6)?)
            .map_err(|e| invalid(format!("中{}", e.message())))?;
        let sequence = t[6..].parse::<u64>().map_err(|_| invalid("的序号无法识别"))?;
        if t.len() > 12 && t.as_bytes()[6] == b'0' {
            return Err(invalid("的序号超过 6 位时不以 0 开头"));
        }
        prefix.number(sequence)
    }

    /// Region, service, nature.
    pub fn prefix(&self) -> SerialPrefix {
        self.prefix
    }

    /// The sequence within the prefix.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }
}

impl fmt::Display for SerialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:06}", self.prefix.digits(), self.sequence)
    }
}

impl serde::Serialize for SerialNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for SerialNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        SerialNumber::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_format_of_domain_md() {
        let prefix = SerialPrefix::new("370100", 1, 1).unwrap();
        assert_eq!(prefix.number(1).unwrap().to_string(), "010101000001");
        assert_eq!(SerialPrefix::new("370000", 12, 11).unwrap().number(999_999).unwrap().to_string(), "001211999999");
        assert_eq!(prefix.number(1_000_000).unwrap().to_string(), "0101011000000");
        assert_eq!(prefix.number(MAX_SEQUENCE).unwrap().to_string(), "010101999999999");
        let past = prefix.number(MAX_SEQUENCE + 1).unwrap_err();
        assert_eq!(crate::Coded::code(&past), "serial_numbers_exhausted");
        assert!(SerialPrefix::new("3701", 1, 1).is_err());
        assert!(SerialPrefix::new("370100", 0, 1).is_err());
        assert!(SerialPrefix::new("370100", 1, 100).is_err());
    }

    #[test]
    fn bad_numbers_say_what_is_wrong() {
        for (text, fragment) in [
            ("12345", "12 到 15 位"),
            ("0101010000011234", "12 到 15 位"),
            ("01010100000a", "12 到 15 位"),
            ("010001000001", "发号服务编号"),
            ("010100000001", "事项性质编码"),
            ("010101000000", "从 1 开始"),
            ("0101010000001", "不以 0 开头"),
        ] {
            let e = SerialNumber::parse(text).unwrap_err();
            assert!(e.to_string().contains(fragment), "{text}: {e}");
        }
    }

    proptest! {
        #[test]
        fn every_number_reads_back_as_itself(region in 0u8..100, service in 1u8..100, nature in 1u8..100, sequence in 1u64..=MAX_SEQUENCE) {
            let number = SerialPrefix::from_parts(region, service, nature).unwrap().number(sequence).unwrap();
            let text = number.to_string();
            prop_assert!((12..=15).contains(&text.len()));
            prop_assert!(text.bytes().all(|b| b.is_ascii_digit()));
            prop_assert_eq!(SerialNumber::parse(&text).unwrap(), number);
        }

        #[test]
        fn within_a_prefix_order_follows_the_sequence(a in 1u64..=MAX_SEQUENCE, b in 1u64..=MAX_SEQUENCE) {
            let prefix = SerialPrefix::from_parts(1, 1, 1).unwrap();
            let (x, y) = (prefix.number(a).unwrap(), prefix.number(b).unwrap());
            prop_assert_eq!(a.cmp(&b), x.cmp(&y));
            // Numeric order of the digits agrees too (longer numbers are later).
            let (tx, ty) = (x.to_string(), y.to_string());
            prop_assert_eq!(a.cmp(&b), tx.len().cmp(&ty.len()).then(tx.cmp(&ty)));
        }

        #[test]
        fn anything_else_is_refused_not_misread(text in "[0-9a-z]{0,18}") {
            if let Ok(number) = SerialNumber::parse(&text) {
                prop_assert_eq!(number.to_string(), text);
            }
        }
    }
}
