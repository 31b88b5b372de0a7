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
