//! UTC calendar days and the timestamp shapes the logs write.

use std::fmt;

/// A UTC calendar day, counted from 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(i32);

impl Day {
    /// The day `days` after 1970-01-01 (negative before it).
    pub const fn from_days_since_epoch(days: i32) -> Day {
        Day(days)
    }

    pub const fn days_since_epoch(self) -> i32 {
        self.0
    }

    /// `None` unless `month` is 1..=12 and `day` exists in that month.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Day> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Day(days_from_civil(year, month, day)))
    }

    /// `(year, month, day)`.
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }

    /// The next day.
    pub const fn succ(self) -> Day {
        Day(self.0.saturating_add(1))
    }

    /// Parse `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Day> {
        let (day, rest) = parse_date(text.trim())?;
        rest.is_empty().then_some(day)
    }

    /// The UTC day of a log timestamp: RFC 3339 (`2024-07-31T12:36:52Z`,
    /// `…T10:30:00.0000000Z`, `…+02:00`) and the space-separated form some
    /// exporters write (`2023-03-08 18:52:52.114`, read as UTC). A bare
    /// date is accepted too.
    pub fn of_timestamp(text: &str) -> Option<Day> {
        let (day, rest) = parse_date(text.trim())?;
        if rest.is_empty() {
            return Some(day);
        }
        let rest = rest.strip_prefix(['T', 't', ' '])?;
        let (hour, rest) = two_digits(rest)?;
        let rest = rest.strip_prefix(':')?;
        let (minute, mut rest) = two_digits(rest)?;
        if let Some(after) = rest.strip_prefix(':') {
            let (_second, after) = two_digits(after)?;
            rest = after;
            if let Some(fraction) = rest.strip_prefix(['.', ',']) {
                let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
                if digits == 0 {
                    return None;
                }
                rest = fraction.get(digits..)?;
            }
        }
        if hour > 23 || minute > 59 {
            return None;
        }
        let offset_minutes = match rest {
            "" | "Z" | "z" => 0,
            _ => {
                let sign = match rest.as_bytes().first()? {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let body = rest.get(1..)?;
                let (oh, body) = two_digits(body)?;
                let body = body.strip_prefix(':').unwrap_or(body);
                let (om, body) = two_digits(body)?;
                if !body.is_empty() || oh > 23 || om > 59 {
                    return None;
                }
                sign * (oh as i32 * 60 + om as i32)
            }
        };
        let local_minutes = hour as i32 * 60 + minute as i32;
        let utc_minutes = local_minutes - offset_minutes;
        Some(Day(day.0 + utc_minutes.div_euclid(24 * 60)))
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

fn parse_date(text: &str) -> Option<(Day, &str)> {
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, ..] = *text.as_bytes() else {
        return None;
    };
    let year = number(&[y0, y1, y2, y3])?;
    let month = number(&[m0, m1])?;
    let day = number(&[d0, d1])?;
    // (Bytes 0..10 are ASCII digits and dashes, so 10 is a char boundary.)
    Some((Day::from_ymd(year as i32, month, day)?, text.get(10..)?))
}

/// Decimal digits only (no sign, no spaces), as a number: every
/// timestamp of every log goes through here, so no `str::parse`.
fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

fn two_digits(text: &str) -> Option<(u32, &str)> {
    let [tens, ones, ..] = *text.as_bytes() else {
        return None;
    };
    Some((number(&[tens, ones])?, text.get(2..)?))
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days.
fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_parses_log_timestamps() {
        assert_eq!(Day::from_ymd(1970, 1, 1), Some(Day(0)));
        assert_eq!(
            Day::from_ymd(2024, 2, 29).map(|d| d.to_string()).as_deref(),
            Some("2024-02-29")
        );
        assert_eq!(Day::from_ymd(2023, 2, 29), None);
        for days in [-800_000, -1, 0, 1, 19_000, 20_000, 800_000] {
            let (y, m, d) = Day(days).ymd();
            assert_eq!(Day::from_ymd(y, m, d), Some(Day(days)));
        }
        let day = Day::parse("2024-07-31").unwrap();
        for ts in [
            "2024-07-31T12:36:52Z",
            "2024-07-31T12:36:52.123456789Z",
            "2024-07-31T10:30:00.0000000Z",
            "2024-07-31 18:52:52.114",
            "2024-07-31 14:20:56.237323088",
            "2024-07-31T23:00:00-00:30",
            "2024-08-01T01:30:00+02:00",
            "2024-07-31T00:00+0000",
            "2024-07-31",
        ] {
            assert_eq!(Day::of_timestamp(ts), Some(day), "{ts}");
        }
        assert_eq!(
            Day::of_timestamp("2024-07-31T23:30:00-01:00"),
            Some(day.succ())
        );
        for bad in [
            "...",
            "",
            "2024-13-01T00:00:00Z",
            "2024-07-31X",
            "2024-07-31T25:00:00Z",
            "Oct 2, 2020",
        ] {
            assert_eq!(Day::of_timestamp(bad), None, "{bad}");
        }
    }
}
