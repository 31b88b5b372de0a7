//! Text shared by every artifact: shell words, comment text, JSON string
//! lists and names derived from an agent. JSON and YAML string quoting
//! itself is [`scopegraph_sdk::spelling::json_str`] and
//! [`scopegraph_sdk::spelling::yaml_str`].

use scopegraph_sdk::spelling::json_str;

/// One shell word: as is when it only holds characters no POSIX shell
/// treats specially, otherwise in single quotes (a `'` inside becomes `'\''`).
pub fn shell_word(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-.,:/@%+=".contains(c);
    if !value.is_empty() && value.chars().all(plain) {
        return value.to_string();
    }
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// A line of comment text: line breaks in `value` cannot end the comment.
pub fn comment_text(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// At most `max` characters of `value`.
pub fn truncate(value: &str, max: usize) -> String {
    value.chars().take(max).collect()
}

/// A JSON array of strings, one per line, its items indented two spaces
/// past `indent` and its closing bracket at `indent`. Empty: `[]`.
pub fn json_list(items: &[String], indent: &str) -> String {
    if items.is_empty() {
        return "[]".into();
    }
    let body: Vec<String> = items
        .iter()
        .map(|i| format!("{indent}  {}", json_str(i)))
        .collect();
    format!("[\n{}\n{indent}]", body.join(",\n"))
}

/// The JSON string literal (RFC 8259) that `text` starts with, decoded, and
/// the text after it; `None` when `text` does not start with a valid one
/// (a lone surrogate escape is not valid). What the SDK's `json_str` writes
/// reads back unchanged.
pub fn json_string(text: &str) -> Option<(String, &str)> {
    let mut chars = text.strip_prefix('"')?.char_indices();
    let mut out = String::new();
    let hex = |chars: &mut std::str::CharIndices<'_>| -> Option<u32> {
        let mut value = 0;
        for _ in 0..4 {
            value = value * 16 + chars.next()?.1.to_digit(16)?;
        }
        Some(value)
    };
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((out, &text[at + 2..])),
            '\\' => match chars.next()?.1 {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '/' => out.push('/'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let high = hex(&mut chars)?;
                    let code = if (0xd800..0xdc00).contains(&high) {
                        let (Some((_, '\\')), Some((_, 'u'))) = (chars.next(), chars.next()) else {
                            return None;
                        };
                        let low = hex(&mut chars)?;
                        if !(0xdc00..0xe000).contains(&low) {
                            return None;
                        }
                        0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00)
                    } else {
                        high
                    };
                    out.push(char::from_u32(code)?);
                }
                _ => return None,
            },
            c if (c as u32) < 0x20 => return None,
            c => out.push(c),
        }
    }
    None
}

/// `{prefix}{parts joined by separator}{separator}{suffix}`, every character
/// of the parts and the suffix outside `[A-Za-z0-9]` replaced by
/// `separator`, and the parts cut so the whole fits `max` characters
/// (the prefix and suffix are kept whole): a name deterministic for its
/// inputs, in the alphabet most cloud names allow.
pub fn slug(prefix: &str, parts: &[&str], suffix: &str, separator: char, max: usize) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c
                } else {
                    separator
                }
            })
            .collect()
    };
    let suffix = clean(suffix);
    let budget = max.saturating_sub(prefix.chars().count() + suffix.chars().count() + 1);
    let joined: Vec<String> = parts.iter().map(|p| clean(p)).collect();
    let body = truncate(&joined.join(&separator.to_string()), budget);
    format!("{prefix}{body}{separator}{suffix}")
}

/// The words bash makes of `command` once `tool` (a command it runs) only
/// prints its arguments, NUL-terminated: what a generated script would
/// pass to `az` or `gcloud`.
#[cfg(test)]
pub(crate) fn argv_of(tool: &str, command: &str) -> Vec<String> {
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -euo pipefail\n{tool}() {{ printf '%s\\0' \"$@\"; }}\n{command}"
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{command}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut words: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .split('\0')
        .map(String::from)
        .collect();
    assert_eq!(words.pop().as_deref(), Some(""));
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_survive_bash_word_splitting() {
        assert_eq!(
            shell_word("a@b.iam.gserviceaccount.com"),
            "a@b.iam.gserviceaccount.com"
        );
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("it's $(x) `y`"), "'it'\\''s $(x) `y`'");
        assert_eq!(shell_word("p[ns/sa]"), "'p[ns/sa]'");
        assert_eq!(shell_word("~root"), "'~root'");
        assert_eq!(comment_text("a\nb"), "a b");
        assert_eq!(comment_text("a\r\n# b"), "a  # b");
    }

    #[test]
    fn json_strings_read_back_what_json_str_and_serde_json_write() {
        let odd = "a \"quoted\" \\ back\tslash\nnew line \u{1}\u{7f}\u{2028} é 🦀 {'x'} [@] ! a/b";
        for written in [
            scopegraph_sdk::spelling::json_str(odd),
            serde_json::to_string(odd).unwrap(),
            // Escapes neither writes.
            serde_json::to_string(odd)
                .unwrap()
                .replace("é", "\\u00e9")
                .replace("🦀", "\\ud83e\\udd80")
                .replace("/", "\\/"),
        ] {
            assert_eq!(
                json_string(&format!("{written},rest")),
                Some((odd.to_string(), ",rest")),
                "{written}"
            );
        }
        assert_eq!(json_string("\"\"").unwrap(), (String::new(), ""));
        for bad in [
            "x\"a\"",
            "\"open",
            "\"\\x\"",
            "\"\\ud83e\"",
            "\"\\ud83e\\u0041\"",
            "\"\\u12\"",
            "\"a\nb\"",
        ] {
            assert_eq!(json_string(bad), None, "{bad}");
        }
    }

    #[test]
    fn json_lists_parse_as_json() {
        let items = vec!["a\"b".to_string(), "c\\d\n".to_string()];
        let parsed: Vec<String> = serde_json::from_str(&json_list(&items, "    ")).unwrap();
        assert_eq!(parsed, items);
        assert_eq!(json_list(&[], ""), "[]");
    }

    #[test]
    fn slugs_keep_prefix_and_suffix_and_cut_the_parts() {
        assert_eq!(
            slug(
                "scopegraph_",
                &["analytics", "bq-agent"],
                "5e1f0c2a",
                '_',
                64
            ),
            "scopegraph_analytics_bq_agent_5e1f0c2a"
        );
        let long = "n".repeat(80);
        let cut = slug("sg-", &["ns", &long], "ab/cd", '-', 30);
        assert_eq!(cut, format!("sg-ns-{}-ab-cd", "n".repeat(18)));
        assert_eq!(cut.len(), 30);
        assert_eq!(truncate("é🦀x", 2), "é🦀");
    }
}
