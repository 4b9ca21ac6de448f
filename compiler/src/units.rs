//! Human-readable sizes for messages and printed profiles.

/// `32GiB`, `512MiB`, `1536KiB`: the largest IEC unit that divides exactly.
pub fn exact_kib(kib: u64) -> String {
    let units = [("TiB", 1u64 << 30), ("GiB", 1 << 20), ("MiB", 1 << 10)];
    for (name, div) in units {
        if kib >= div && kib.is_multiple_of(div) {
            return format!("{}{name}", kib / div);
        }
    }
    format!("{kib}KiB")
}

/// Like [`exact_kib`] for any number of bytes: `64B`, `10KiB`.
pub fn exact_bytes(bytes: u128) -> String {
    match u64::try_from(bytes / 1024) {
        Ok(kib) if bytes > 0 && bytes.is_multiple_of(1024) => exact_kib(kib),
        _ => format!("{bytes}B"),
    }
}

/// Like [`exact_kib`] when exact in the largest fitting unit, else one decimal: `125.6GiB`.
pub fn human_kib(kib: u64) -> String {
    let units = [("TiB", 1u64 << 30), ("GiB", 1 << 20), ("MiB", 1 << 10)];
    for (name, div) in units {
        if kib >= div {
            if kib.is_multiple_of(div) {
                return format!("{}{name}", kib / div);
            }
            return format!("{:.1}{name}", kib as f64 / div as f64);
        }
    }
    format!("{kib}KiB")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(exact_kib(33554432), "32GiB");
        assert_eq!(exact_kib(1536), "1536KiB");
        assert_eq!(human_kib(1536), "1.5MiB");
        assert_eq!(human_kib(131688448), "125.6GiB");
        assert_eq!(human_kib(512), "512KiB");
    }
}
