//! Small helpers: timestamps, ids, globs, quantities.

use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// RFC 3339 timestamp with second precision, as the apiserver writes them.
pub fn now_rfc3339() -> String {
    fmt_time(SystemTime::now())
}

/// RFC 3339 with nanoseconds, as the kubelet prefixes log lines.
pub fn fmt_time_nanos(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let base = fmt_secs(d.as_secs() as i64);
    format!("{}.{:09}Z", &base[..base.len() - 1], d.subsec_nanos())
}

pub fn fmt_time(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    fmt_secs(d.as_secs() as i64)
}

pub fn fmt_secs(secs: i64) -> String {
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        y,
        m,
        d,
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Seconds and nanoseconds since the epoch of an RFC 3339 timestamp (`Z` or `±hh:mm`).
pub fn parse_rfc3339(s: &str) -> Option<(i64, i32)> {
    let (d, t) = s.split_once('T')?;
    let mut dp = d.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    let m: i64 = dp.next()?.parse().ok()?;
    let dd: i64 = dp.next()?.parse().ok()?;
    let (t, offset) = if let Some(t) = t.strip_suffix('Z') {
        (t, 0)
    } else if let Some(i) = t.rfind(['+', '-']) {
        let (a, b) = t.split_at(i);
        let sign = if b.starts_with('-') { -1 } else { 1 };
        let (oh, om) = b[1..].split_once(':')?;
        (
            a,
            sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60),
        )
    } else {
        (t, 0)
    };
    let (hms, frac) = t.split_once('.').unwrap_or((t, ""));
    let mut tp = hms.split(':');
    let h: i64 = tp.next()?.parse().ok()?;
    let mi: i64 = tp.next()?.parse().ok()?;
    let se: i64 = tp.next()?.parse().ok()?;
    let nanos: i32 = if frac.is_empty() {
        0
    } else {
        format!("{:0<9}", &frac[..frac.len().min(9)]).parse().ok()?
    };
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + dd - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some((days * 86400 + h * 3600 + mi * 60 + se - offset, nanos))
}

/// Format seconds (+ microseconds when `micros` is Some) as RFC 3339.
pub fn fmt_epoch(secs: i64, micros: Option<u32>) -> String {
    let base = fmt_secs(secs);
    match micros {
        Some(us) => format!("{}.{us:06}Z", &base[..base.len() - 1]),
        None => base,
    }
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

static COUNTER: AtomicU64 = AtomicU64::new(1);

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    x
}

/// A pseudo-random u64 (unique per call within the process).
pub fn rand_u64() -> u64 {
    let c = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    mix(c.wrapping_mul(0x9e3779b97f4a7c15) ^ t)
}

/// A random UUID v4 string.
pub fn new_uid() -> String {
    let a = rand_u64();
    let b = rand_u64();
    let s = format!("{:016x}{:016x}", a, b);
    format!(
        "{}-{}-4{}-{}{}-{}",
        &s[0..8],
        &s[8..12],
        &s[13..16],
        ["8", "9", "a", "b"][(b & 3) as usize],
        &s[17..20],
        &s[20..32]
    )
}

const ALNUM: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Random suffix like the apiserver's generateName (5 chars).
pub fn rand_suffix(n: usize) -> String {
    let mut x = rand_u64();
    (0..n)
        .map(|_| {
            let c = ALNUM[(x % ALNUM.len() as u64) as usize] as char;
            x /= ALNUM.len() as u64;
            if x == 0 {
                x = rand_u64();
            }
            c
        })
        .collect()
}

/// FNV-1a based hash encoded like the controller's SafeEncodeString.
pub fn safe_hash(s: &str) -> String {
    let mut h: u32 = 0x811c9dc5;
    for b in s.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x01000193);
    }
    let digits = h.to_string();
    digits
        .bytes()
        .map(|b| ALNUM[(b as usize) % ALNUM.len()] as char)
        .collect::<String>()
        .chars()
        .take(10)
        .collect()
}

/// Tiny glob matcher: `*` any sequence, `?` one char.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Parse a Kubernetes quantity into milli-units (cpu: millicores; memory: milli-bytes).
pub fn parse_quantity_milli(v: &Value) -> Option<i128> {
    let s = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    if s.is_empty() {
        return None;
    }
    let suffixes: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("Ei", 1152921504606846976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    let (num, mult) = suffixes
        .iter()
        .find(|(suf, _)| s.ends_with(suf) && s.len() > suf.len())
        .map(|(suf, m)| (&s[..s.len() - suf.len()], *m))
        .unwrap_or((s.as_str(), 1.0));
    let n: f64 = num.parse().ok()?;
    Some((n * mult * 1000.0).round() as i128)
}

/// Format a cpu quantity given in millicores, like the apiserver's canonical form.
pub fn fmt_cpu(milli: i128) -> String {
    if milli % 1000 == 0 {
        format!("{}", milli / 1000)
    } else {
        format!("{}m", milli)
    }
}

/// Format a memory-like quantity given in milli-bytes.
pub fn fmt_mem(milli: i128) -> String {
    let b = milli / 1000;
    if milli % 1000 != 0 {
        return format!("{}m", milli);
    }
    if b == 0 {
        return "0".into();
    }
    for (suf, m) in [
        ("Ti", 1i128 << 40),
        ("Gi", 1 << 30),
        ("Mi", 1 << 20),
        ("Ki", 1 << 10),
    ] {
        if b % m == 0 {
            return format!("{}{}", b / m, suf);
        }
    }
    format!("{}", b)
}

/// Format a quantity for a resource name (cpu-like vs memory-like vs counts).
pub fn fmt_quantity(resource: &str, milli: i128) -> String {
    if resource.contains("cpu") {
        fmt_cpu(milli)
    } else if resource.contains("memory") || resource.contains("storage") {
        fmt_mem(milli)
    } else if milli % 1000 == 0 {
        format!("{}", milli / 1000)
    } else {
        format!("{}m", milli)
    }
}

/// Parse a Go-style duration or a number of seconds ("300ms", "2s", "1m", "1.5s", 3).
pub fn parse_duration(s: &str) -> Option<std::time::Duration> {
    let s = s.trim();
    let units = [
        ("ms", 0.001),
        ("us", 0.000001),
        ("s", 1.0),
        ("m", 60.0),
        ("h", 3600.0),
    ];
    for (u, m) in units {
        if let Some(n) = s.strip_suffix(u)
            && let Ok(f) = n.trim().parse::<f64>()
        {
            return Some(std::time::Duration::from_secs_f64(f * m));
        }
    }
    s.parse::<f64>()
        .ok()
        .map(std::time::Duration::from_secs_f64)
}

/// Navigate a dotted path (`metadata.name`) in a JSON value.
pub fn dotted<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for p in path.split('.') {
        cur = cur.get(p)?;
    }
    Some(cur)
}

pub fn str_of(v: &Value, path: &str) -> String {
    match dotted(v, path) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A duration as Go's `time.Duration.String()` writes whole seconds: `10s`,
/// `1m20s`, `5m0s`, `1h0m0s` (what the kubelet's back-off messages say).
pub fn go_duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{}s", s / 60, s % 60),
        _ => format!("{}h{}m{}s", s / 3600, s % 3600 / 60, s % 60),
    }
}
