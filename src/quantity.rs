//! Kubernetes resource quantities (`250m`, `512Mi`, `1e3`): parsed into
//! millicores or whole units the way the API server reads them, and
//! formatted back for messages.

use serde_json::Value;

/// A Kubernetes quantity that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid quantity `{text}`: {reason}")]
pub struct QuantityError {
    pub text: String,
    pub reason: &'static str,
}

/// Parses a CPU quantity (`250m`, `1`, `0.5`, `2k`, `1e3`) into millicores,
/// rounding a fraction of a millicore up as the API server does.
pub fn parse_cpu_millis(text: &str) -> Result<i64, QuantityError> {
    let value = parse_scaled(text, 3)?;
    i64::try_from(value).map_err(|_| QuantityError {
        text: text.to_string(),
        reason: "too large",
    })
}

/// Parses a memory or storage quantity (`512Mi`, `1Gi`, `1G`, `500M`,
/// `1e3`, `1024`) into bytes, rounding a fraction of a byte up.
pub fn parse_memory_bytes(text: &str) -> Result<i128, QuantityError> {
    parse_scaled(text, 0)
}

/// Parses `text` (the Kubernetes quantity grammar: a signed decimal number,
/// then a binary-SI suffix `Ki…Ei`, a decimal-SI suffix `n u m k M G T P E`,
/// or an exponent `e3`/`E-2`) and returns its value × 10^`scale`, rounded up.
fn parse_scaled(text: &str, scale: i32) -> Result<i128, QuantityError> {
    let error = |reason| QuantityError {
        text: text.to_string(),
        reason,
    };
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        Some(_) => (false, text),
        None => return Err(error("empty")),
    };
    let number_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_len);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(error("expected a number"));
    }
    if fraction.contains('.') {
        return Err(error("more than one decimal point"));
    }
    let (exp2, exp10): (u32, i32) = match suffix {
        "" => (0, 0),
        "Ki" => (10, 0),
        "Mi" => (20, 0),
        "Gi" => (30, 0),
        "Ti" => (40, 0),
        "Pi" => (50, 0),
        "Ei" => (60, 0),
        "n" => (0, -9),
        "u" => (0, -6),
        "m" => (0, -3),
        "k" => (0, 3),
        "M" => (0, 6),
        "G" => (0, 9),
        "T" => (0, 12),
        "P" => (0, 15),
        "E" => (0, 18),
        _ => {
            let exponent = suffix.strip_prefix(['e', 'E']).ok_or_else(|| {
                error("unknown suffix (expected Ki, Mi, Gi, m, k, M, G, … or e<n>)")
            })?;
            let valid = !exponent.is_empty()
                && exponent
                    .trim_start_matches(['+', '-'])
                    .chars()
                    .all(|c| c.is_ascii_digit());
            let exponent: i32 = exponent
                .parse()
                .ok()
                .filter(|_| valid)
                .ok_or_else(|| error("invalid exponent"))?;
            (0, exponent)
        }
    };
    let too_large = || error("too large");
    let digits: i128 = format!("{whole}{fraction}")
        .parse()
        .map_err(|_| too_large())?;
    let exp10 = exp10 + scale - i32::try_from(fraction.len()).map_err(|_| too_large())?;
    if !(-60..=60).contains(&exp10) {
        return Err(too_large());
    }
    let mut numerator = digits.checked_mul(1i128 << exp2).ok_or_else(too_large)?;
    let mut denominator: i128 = 1;
    if exp10 >= 0 {
        numerator = numerator
            .checked_mul(
                10i128
                    .checked_pow(exp10.unsigned_abs())
                    .ok_or_else(too_large)?,
            )
            .ok_or_else(too_large)?;
    } else {
        denominator = 10i128
            .checked_pow(exp10.unsigned_abs())
            .ok_or_else(too_large)?;
    }
    // Round up: toward +∞ for positive values, as resource.Quantity does.
    let magnitude = if negative {
        numerator / denominator
    } else {
        (numerator + denominator - 1) / denominator
    };
    Ok(if negative { -magnitude } else { magnitude })
}

/// Parses a quantity given as a JSON string or number, for `resource`:
/// cpu in millicores, anything else in whole units. `None` if absent.
pub(crate) fn quantity_for(value: &Value, resource: &str) -> Option<Result<i128, QuantityError>> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Null => return None,
        other => other.to_string(),
    };
    Some(if resource.ends_with("cpu") {
        parse_cpu_millis(&text).map(i128::from)
    } else {
        parse_memory_bytes(&text)
    })
}

/// cpu as `16` or `250m`, memory and storage in the largest exact binary
/// unit (`32Gi`, `512Mi`), counts as numbers.
pub(crate) fn format_amount(resource: &str, amount: i128) -> String {
    if resource.ends_with("cpu") {
        return if amount % 1000 == 0 {
            format!("{}", amount / 1000)
        } else {
            format!("{amount}m")
        };
    }
    if resource.ends_with("memory") || resource.ends_with("storage") {
        for (suffix, size) in [
            ("Ti", 1i128 << 40),
            ("Gi", 1 << 30),
            ("Mi", 1 << 20),
            ("Ki", 1 << 10),
        ] {
            if amount != 0 && amount % size == 0 {
                return format!("{}{suffix}", amount / size);
            }
        }
    }
    amount.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_quantities() {
        for (text, millis) in [
            ("250m", 250),
            ("1", 1000),
            ("0.5", 500),
            ("1.5", 1500),
            ("2k", 2_000_000),
            ("1e3", 1_000_000),
            ("100u", 1),
            ("+3", 3000),
            ("0.0001", 1),
            (".5", 500),
        ] {
            assert_eq!(parse_cpu_millis(text), Ok(millis), "{text}");
        }
        for text in [
            "",
            "m",
            "1x",
            "1.2.3",
            "abc",
            "1e",
            "1e+",
            "--1",
            "99999999999999999999",
        ] {
            assert!(parse_cpu_millis(text).is_err(), "{text}");
        }
    }

    #[test]
    fn memory_quantities() {
        for (text, bytes) in [
            ("512Mi", 512 << 20),
            ("1Gi", 1 << 30),
            ("1G", 1_000_000_000),
            ("500M", 500_000_000),
            ("1e3", 1000),
            ("1024", 1024),
            ("1.5Gi", 3 << 29),
            ("128974848", 128_974_848),
            ("129e6", 129_000_000),
            ("123Ki", 125_952),
            ("1Ei", 1 << 60),
            ("0.5", 1),
            ("1E", 10i128.pow(18)),
        ] {
            assert_eq!(parse_memory_bytes(text), Ok(bytes), "{text}");
        }
        for text in ["1GB", "1gi", "Mi", "1 Gi", "1e3Mi"] {
            assert!(parse_memory_bytes(text).is_err(), "{text}");
        }
        let error = parse_memory_bytes("1GB").unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid quantity `1GB`: unknown suffix (expected Ki, Mi, Gi, m, k, M, G, … or e<n>)"
        );
    }

    #[test]
    fn amounts_are_formatted_like_quantities() {
        assert_eq!(format_amount("requests.cpu", 16_000), "16");
        assert_eq!(format_amount("cpu", 250), "250m");
        assert_eq!(format_amount("limits.memory", 32 << 30), "32Gi");
        assert_eq!(format_amount("memory", 1_000_000_000), "1000000000");
        assert_eq!(format_amount("pods", 4), "4");
    }
}
