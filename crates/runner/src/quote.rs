//! Byte strings as double-quoted literals of the languages the runner
//! writes load scripts in (Lua for wrk, Python for Locust): `"` and `\`
//! escaped, `\n` and `\r` by name, printable ASCII as is, every other byte
//! in the language's own escape.

use std::fmt::Write;

/// `bytes` between double quotes after `prefix` (`b` for a Python bytes
/// literal), each byte outside printable ASCII written by `other`.
pub(crate) fn quoted(prefix: &str, bytes: &[u8], other: fn(&mut String, u8)) -> String {
    let mut out = String::with_capacity(prefix.len() + bytes.len() + 2);
    out.push_str(prefix);
    out.push('"');
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            0x20..=0x7e => out.push(b as char),
            _ => other(&mut out, b),
        }
    }
    out.push('"');
    out
}

/// Lua's escape of a byte: `\ddd`, decimal.
pub(crate) fn lua_byte(out: &mut String, b: u8) {
    let _ = write!(out, "\\{b:03}");
}

/// Python's escape of a byte in a bytes literal: `\xhh`.
pub(crate) fn python_byte(out: &mut String, b: u8) {
    let _ = write!(out, "\\x{b:02x}");
}
