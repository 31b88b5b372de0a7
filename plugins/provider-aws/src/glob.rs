//! IAM wildcards: `*` matches any run of characters (empty included), `?`
//! exactly one. Used for actions (case-insensitively), resources and
//! `StringLike`/`ArnLike` conditions (case-sensitively).

/// Whether `text` matches `pattern`, case-sensitively.
pub fn matches(pattern: &str, text: &str) -> bool {
    if pattern.is_ascii() && text.is_ascii() {
        return glob(pattern.as_bytes(), text.as_bytes(), b'*', b'?', |a, b| {
            a == b
        });
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    glob(&pattern, &text, '*', '?', |a, b| a == b)
}

/// Whether `text` matches `pattern`, ignoring ASCII case (IAM action names).
pub fn matches_ignore_case(pattern: &str, text: &str) -> bool {
    if pattern.is_ascii() && text.is_ascii() {
        return glob(pattern.as_bytes(), text.as_bytes(), b'*', b'?', |a, b| {
            a.eq_ignore_ascii_case(&b)
        });
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    glob(&pattern, &text, '*', '?', |a, b| a.eq_ignore_ascii_case(&b))
}

pub fn has_wildcard(text: &str) -> bool {
    text.contains(['*', '?'])
}

/// Greedy matching with backtracking to the last `*`: linear in practice.
fn glob<T: Copy + PartialEq>(
    pattern: &[T],
    text: &[T],
    any_run: T,
    any_one: T,
    same: impl Fn(T, T) -> bool,
) -> bool {
    let (mut p, mut t) = (0, 0);
    // (position of the last `*` in the pattern, text position it resumes at)
    let mut star: Option<(usize, usize)> = None;
    while let Some(&c) = text.get(t) {
        match pattern.get(p) {
            Some(&q) if q == any_run => {
                star = Some((p, t));
                p += 1;
            }
            Some(&q) if q == any_one || same(q, c) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == any_run))
}

/// Whether every string `inner` matches is also matched by `outer`, with
/// both taken as patterns: a sound test (never true wrongly), complete for
/// the shapes policies use (`arn:aws:s3:::b/*` covers `arn:aws:s3:::b/x/*`,
/// `*` covers everything, nothing but `*`-runs covers a `*`).
pub fn covers(outer: &str, inner: &str) -> bool {
    let outer: Vec<char> = outer.chars().collect();
    let inner: Vec<char> = inner.chars().collect();
    let width = inner.len() + 1;
    // reach[i * width + j]: outer[..i] covers inner[..j].
    let mut reach = vec![false; (outer.len() + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    if let Some(cell) = reach.get_mut(0) {
        *cell = true;
    }
    for (i, &o) in outer.iter().enumerate() {
        let i = i + 1;
        for j in 0..width {
            let value = if o == '*' {
                let skip = reach.get(at(i - 1, j)).copied().unwrap_or(false);
                let take = j > 0 && reach.get(at(i, j - 1)).copied().unwrap_or(false);
                skip || take
            } else if j == 0 {
                false
            } else {
                let compatible = match inner.get(j - 1) {
                    Some('*') => false,
                    Some('?') => o == '?',
                    Some(&c) => o == '?' || o == c,
                    None => false,
                };
                compatible && reach.get(at(i - 1, j - 1)).copied().unwrap_or(false)
            };
            if let Some(cell) = reach.get_mut(at(i, j)) {
                *cell = value;
            }
        }
    }
    reach
        .get(at(outer.len(), inner.len()))
        .copied()
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_runs_and_single_characters() {
        assert!(matches("s3:Get*", "s3:GetObject"));
        assert!(matches("s3:Get*", "s3:Get"));
        assert!(!matches("s3:Get*", "s3:PutObject"));
        assert!(matches("*", ""));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("a*b*c", "axxbyy"));
        assert!(matches(
            "system:serviceaccount:analytics:?eport*",
            "system:serviceaccount:analytics:report-agent"
        ));
        assert!(!matches("S3:get*", "s3:GetObject"));
        assert!(matches_ignore_case("S3:get*", "s3:GetObject"));
        assert!(matches("a*a*a", "aaaa"));
    }

    #[test]
    fn covering_is_sound() {
        assert!(covers("*", "arn:aws:s3:::b/*"));
        assert!(covers("arn:aws:s3:::b/*", "arn:aws:s3:::b/*"));
        assert!(covers("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/*"));
        assert!(covers("arn:aws:s3:::b*", "arn:aws:s3:::bucket"));
        assert!(!covers("arn:aws:s3:::b/x*", "arn:aws:s3:::b/*"));
        assert!(!covers("a?c", "a*c"));
        assert!(covers("a*c", "a?c"));
        assert!(!covers("arn:aws:s3:::b", "*"));
        assert!(covers("**", "*"));
    }
}
