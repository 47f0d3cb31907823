//! The JSON side of record time: the value of a record's time key, at the top level or
//! at a dotted path into nested objects, read without a JSON library (one pass, no
//! allocation, any key order).
//!
//! A key is only a key where the grammar puts one: text inside a string value (where a
//! client's text always is, its quotes escaped) never poses as a key, and an array is never
//! entered. It must never read past the line, and never guess: a line that breaks the grammar
//! yields what was read before the break, or nothing.

use jiff::Timestamp;

use super::civil::{clf, epoch, iso8601};

/// A JSON scalar: the bytes between a string's quotes (escapes left as they are), or a
/// number's text.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum JsonValue<'a> {
    String(&'a [u8]),
    Number(&'a [u8]),
}

/// The value of the first of `keys` (in their order of preference) among the top-level keys
/// of the JSON object `line`. A nested object, an array or a string value never yields a
/// key, so text a client sends (always inside a string, its quotes escaped) cannot pose as
/// one. Stops at the first byte that breaks the grammar: what was read until then counts.
pub(super) fn json_top_level<'a>(line: &'a [u8], keys: &[&str]) -> Option<(usize, JsonValue<'a>)> {
    let mut best: Option<(usize, JsonValue<'a>)> = None;
    let mut i = 1; // past the `{`
    let mut depth = 1usize;
    let mut expect_key = true;
    let mut key: Option<&[u8]> = None;
    while i < line.len() && depth > 0 {
        match line[i] {
            b'"' => {
                let Some(end) = json_string_end(line, i + 1) else {
                    break;
                };
                let text = &line[i + 1..end];
                i = end + 1;
                if depth == 1 {
                    if expect_key {
                        key = Some(text);
                    } else if let Some(k) = key.take() {
                        consider(&mut best, keys, k, JsonValue::String(text));
                    }
                }
                continue;
            }
            b':' if depth == 1 => expect_key = false,
            b',' if depth == 1 => {
                expect_key = true;
                key = None;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth -= 1,
            b'-' | b'0'..=b'9' if depth == 1 && !expect_key => {
                let start = i;
                i = json_number_end(line, i);
                if let Some(k) = key.take() {
                    consider(&mut best, keys, k, JsonValue::Number(&line[start..i]));
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    best
}

/// A JSON time value: RFC 3339, CLF, or epoch (seconds to nanoseconds) as a number or string.
pub(super) fn json_value(value: JsonValue) -> Option<Timestamp> {
    match value {
        JsonValue::String(s) => {
            if s.first().is_some_and(u8::is_ascii_digit) {
                if s.len() >= 5 && s[4] == b'-' {
                    return iso8601(s);
                }
                if s.len() >= 3 && s[2] == b'/' {
                    return clf(s);
                }
                return epoch(s);
            }
            None
        }
        JsonValue::Number(n) => epoch(n),
    }
}

/// The scalar at a dotted `path` (`request.ts`) of the JSON object `line`: each part a key of
/// the object the previous part named, from the top level down. Arrays are never entered,
/// and a key inside a string value is text, not a key.
pub(super) fn json_path<'a>(line: &'a [u8], path: &str) -> Option<JsonValue<'a>> {
    let parts: Vec<&[u8]> = path.split('.').map(str::as_bytes).collect();
    let mut i = 1; // past the `{`
    // How many parts of the path the open objects matched: the object open at depth d
    // (1 = the top) is on the path when `matched + 1 == d`.
    let mut matched = 0usize;
    let mut depth = 1usize;
    let mut expect_key = true;
    let mut key: Option<&[u8]> = None;
    let on_path = |matched: usize, depth: usize| matched + 1 == depth;
    while i < line.len() && depth > 0 {
        match line[i] {
            b'"' => {
                let end = json_string_end(line, i + 1)?;
                let text = &line[i + 1..end];
                i = end + 1;
                if on_path(matched, depth) {
                    if expect_key {
                        key = Some(text);
                    } else if key.take() == Some(parts[matched]) && matched + 1 == parts.len() {
                        return Some(JsonValue::String(text));
                    }
                }
                continue;
            }
            b':' => expect_key = false,
            b',' => {
                expect_key = true;
                key = None;
            }
            b'{' => {
                if on_path(matched, depth)
                    && key.take() == Some(parts[matched])
                    && matched + 1 < parts.len()
                {
                    matched += 1;
                }
                depth += 1;
                expect_key = true;
            }
            b'[' => {
                depth += 1;
                key = None;
            }
            b'}' | b']' => {
                if matched + 1 == depth {
                    // Leaving an object on the path: its value was not found in it.
                    return None;
                }
                depth -= 1;
                expect_key = false;
            }
            b'-' | b'0'..=b'9' if !expect_key => {
                let start = i;
                i = json_number_end(line, i);
                if on_path(matched, depth)
                    && key.take() == Some(parts[matched])
                    && matched + 1 == parts.len()
                {
                    return Some(JsonValue::Number(&line[start..i]));
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Where the JSON string whose text starts at `start` ends: the index of its closing quote.
fn json_string_end(line: &[u8], start: usize) -> Option<usize> {
    let mut j = start;
    while j < line.len() && line[j] != b'"' {
        j += if line[j] == b'\\' { 2 } else { 1 };
    }
    (j < line.len()).then_some(j)
}

/// Past the JSON number that starts at `i`.
fn json_number_end(line: &[u8], mut i: usize) -> usize {
    while i < line.len() && matches!(line[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
        i += 1;
    }
    i
}

fn consider<'a>(
    best: &mut Option<(usize, JsonValue<'a>)>,
    keys: &[&str],
    key: &[u8],
    value: JsonValue<'a>,
) {
    if let Some(rank) = keys.iter().position(|k| k.as_bytes() == key) {
        if best.as_ref().is_none_or(|(r, _)| rank < *r) {
            *best = Some((rank, value));
        }
    }
}
