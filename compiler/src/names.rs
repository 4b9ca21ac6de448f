//! Naming rules of libvirt that every layer may apply: device aliases and disk names.

/// User aliases (`ua-NAME`) let a reader map XML back to the .vnuma names; libvirt
/// also uses them as the QEMU ids of the controllers.
pub fn alias_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// 0 → a, 25 → z, 26 → aa: Linux disk names.
pub fn drive_letters(n: u32) -> String {
    let mut n = n as i64;
    let mut out = Vec::new();
    loop {
        out.push((b'a' + (n % 26) as u8) as char);
        n = n / 26 - 1;
        if n < 0 {
            break;
        }
    }
    out.iter().rev().collect()
}
