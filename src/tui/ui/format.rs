//! Numbers as people read them in a narrow column: 1.2k, 3.4 MiB, 1h02m.

/// A count with a k/M/G suffix: `999`, `1.2k`, `35k`, `1.2M`.
pub fn count(n: f64) -> String {
    if !n.is_finite() || n < 0.0 {
        return "–".into();
    }
    const UNITS: [(f64, &str); 3] = [(1e9, "G"), (1e6, "M"), (1e3, "k")];
    for (scale, unit) in UNITS {
        if n >= scale {
            let v = n / scale;
            return if v < 10.0 {
                format!("{v:.1}{unit}")
            } else {
                format!("{v:.0}{unit}")
            };
        }
    }
    if n < 10.0 && n.fract() != 0.0 {
        format!("{n:.1}")
    } else {
        format!("{n:.0}")
    }
}

/// A byte amount with a binary unit: `512 B`, `1.5 KiB`, `20 MiB`.
pub fn bytes(n: f64) -> String {
    if !n.is_finite() || n < 0.0 {
        return "–".into();
    }
    const UNITS: [(f64, &str); 4] = [
        (1024.0 * 1024.0 * 1024.0 * 1024.0, "TiB"),
        (1024.0 * 1024.0 * 1024.0, "GiB"),
        (1024.0 * 1024.0, "MiB"),
        (1024.0, "KiB"),
    ];
    for (scale, unit) in UNITS {
        if n >= scale {
            let v = n / scale;
            return if v < 10.0 {
                format!("{v:.1} {unit}")
            } else {
                format!("{v:.0} {unit}")
            };
        }
    }
    format!("{n:.0} B")
}

/// A duration in seconds, two units at most: `42s`, `5m12s`, `3h04m`, `2d05h`.
pub fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d{h:02}h")
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

/// Seconds as milliseconds or microseconds: `850 µs`, `2.3 ms`, `1.20 s`.
pub fn seconds(secs: f64) -> String {
    if secs < 0.001 {
        format!("{:.0} µs", secs * 1e6)
    } else if secs < 1.0 {
        format!("{:.1} ms", secs * 1e3)
    } else {
        format!("{secs:.2} s")
    }
}

/// An optional value, or a dash.
pub fn or_dash<T>(value: Option<T>, f: impl FnOnce(T) -> String) -> String {
    value.map_or_else(|| "–".into(), f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_fit_narrow_columns() {
        assert_eq!(count(0.0), "0");
        assert_eq!(count(2.5), "2.5");
        assert_eq!(count(999.0), "999");
        assert_eq!(count(1234.0), "1.2k");
        assert_eq!(count(35_000.0), "35k");
        assert_eq!(count(2_500_000.0), "2.5M");
        assert_eq!(count(f64::NAN), "–");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(20.0 * 1024.0 * 1024.0), "20 MiB");
        assert_eq!(duration(42), "42s");
        assert_eq!(duration(312), "5m12s");
        assert_eq!(duration(3 * 3600 + 240), "3h04m");
        assert_eq!(duration(2 * 86_400 + 5 * 3600), "2d05h");
        assert_eq!(seconds(0.00085), "850 µs");
        assert_eq!(seconds(0.0023), "2.3 ms");
        assert_eq!(seconds(1.2), "1.20 s");
    }
}
