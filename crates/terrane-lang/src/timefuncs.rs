//! The time functions formatdate, timeadd and timecmp, over RFC 3339
//! strings, with Terraform's format sequences and errors.

use terrane_core::time::{civil_from_days, days_from_civil, parse_duration};

/// A moment as written: its calendar fields in its own offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DateTime {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    /// Minutes east of UTC; `None` for `Z`.
    offset: Option<i32>,
}

const MONTHS: [&str; 12] =
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const WEEKDAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl DateTime {
    fn parse(text: &str) -> Result<DateTime, String> {
        let bad = |what: &str| format!("{text:?} is not a valid RFC 3339 timestamp: {what}");
        let b = text.as_bytes();
        let digits = |from: usize, n: usize| -> Option<u32> {
            let part = text.get(from..from + n)?;
            part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok()).flatten()
        };
        let field = |from: usize, n: usize, name: &str| digits(from, n).ok_or_else(|| bad(&format!("expected the {name}")));
        let sep = |at: usize, c: u8, name: &str| if b.get(at) == Some(&c) { Ok(()) } else { Err(bad(&format!("expected {name}"))) };
        let year = field(0, 4, "year")?;
        sep(4, b'-', "'-' after the year")?;
        let month = field(5, 2, "month")?;
        sep(7, b'-', "'-' after the month")?;
        let day = field(8, 2, "day")?;
        if b.len() == 10 {
            return Err(bad("the time of day is missing"));
        }
        sep(10, b'T', "'T' between the date and the time")?;
        let hour = field(11, 2, "hour")?;
        sep(13, b':', "':' after the hour")?;
        let minute = field(14, 2, "minute")?;
        sep(16, b':', "':' after the minute")?;
        let second = field(17, 2, "second")?;
        let mut at = 19;
        let mut nanos = 0u32;
        if b.get(at) == Some(&b'.') {
            let start = at + 1;
            let mut end = start;
            while b.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
            if end == start {
                return Err(bad("expected digits after the decimal point"));
            }
            let fraction = &text[start..end.min(start + 9)];
            nanos = fraction.parse::<u32>().unwrap_or(0) * 10u32.pow(9 - fraction.len() as u32);
            at = end;
        }
        let offset = match b.get(at) {
            Some(b'Z') if b.len() == at + 1 => None,
            Some(sign @ (b'+' | b'-')) if b.len() == at + 6 && b[at + 3] == b':' => {
                let h = field(at + 1, 2, "offset hours")?;
                let m = field(at + 4, 2, "offset minutes")?;
                if h > 23 || m > 59 {
                    return Err(bad("the offset is out of range"));
                }
                let minutes = (h * 60 + m) as i32;
                Some(if *sign == b'-' { -minutes } else { minutes })
            }
            _ => return Err(bad("expected Z or an offset like +01:00 at the end")),
        };
        let year = i64::from(year);
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(bad("the date does not exist"));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(bad("the time of day is out of range"));
        }
        Ok(DateTime { year, month, day, hour, minute, second, nanos, offset })
    }

    fn offset_minutes(&self) -> i64 {
        i64::from(self.offset.unwrap_or(0))
    }

    /// Nanoseconds since the Unix epoch.
    fn epoch_nanos(&self) -> i128 {
        let days = days_from_civil(self.year, self.month, self.day);
        let seconds = days * 86_400 + i64::from(self.hour * 3600 + self.minute * 60 + self.second) - self.offset_minutes() * 60;
        i128::from(seconds) * 1_000_000_000 + i128::from(self.nanos)
    }

    /// The same moment written in `offset`.
    fn from_epoch_nanos(nanos: i128, offset: Option<i32>) -> DateTime {
        let local = nanos + i128::from(offset.unwrap_or(0)) * 60 * 1_000_000_000;
        let seconds = local.div_euclid(1_000_000_000) as i64;
        let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
        let in_day = seconds.rem_euclid(86_400) as u32;
        DateTime {
            year,
            month,
            day,
            hour: in_day / 3600,
            minute: in_day / 60 % 60,
            second: in_day % 60,
            nanos: local.rem_euclid(1_000_000_000) as u32,
            offset,
        }
    }

    fn weekday(&self) -> usize {
        (days_from_civil(self.year, self.month, self.day) + 4).rem_euclid(7) as usize
    }

    fn offset_text(&self, colon: bool) -> String {
        let minutes = self.offset_minutes();
        let sign = if minutes < 0 { '-' } else { '+' };
        let (h, m) = (minutes.abs() / 60, minutes.abs() % 60);
        if colon {
            format!("{sign}{h:02}:{m:02}")
        } else {
            format!("{sign}{h:02}{m:02}")
        }
    }

    /// RFC 3339 to the second, as Terraform writes results (fractions dropped).
    fn rfc3339(&self) -> String {
        let zone = match self.offset {
            None => "Z".to_string(),
            Some(_) => self.offset_text(true),
        };
        format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{zone}", self.year, self.month, self.day, self.hour, self.minute, self.second)
    }
}

pub fn formatdate(spec: &str, timestamp: &str) -> Result<String, String> {
    let t = DateTime::parse(timestamp)?;
    let mut out = String::new();
    let chars: Vec<char> = spec.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // A quoted literal; '' inside it (or alone) is one quote.
            let mut j = i + 1;
            if chars.get(j) == Some(&'\'') {
                out.push('\'');
                i = j + 1;
                continue;
            }
            loop {
                match chars.get(j) {
                    None => return Err("the format has an unterminated literal (a ' without its closing ')".into()),
                    Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                        out.push('\'');
                        j += 2;
                    }
                    Some('\'') => break,
                    Some(&other) => {
                        out.push(other);
                        j += 1;
                    }
                }
            }
            i = j + 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            out.push(c);
            i += 1;
            continue;
        }
        let mut run = 1;
        while chars.get(i + run) == Some(&c) {
            run += 1;
        }
        let hour12 = match t.hour % 12 {
            0 => 12,
            h => h,
        };
        let text = match (c, run) {
            ('Y', 4) => format!("{:04}", t.year),
            ('Y', 2) => format!("{:02}", t.year.rem_euclid(100)),
            ('M', 4) => MONTHS[t.month as usize - 1].to_string(),
            ('M', 3) => MONTHS[t.month as usize - 1][..3].to_string(),
            ('M', 2) => format!("{:02}", t.month),
            ('M', 1) => t.month.to_string(),
            ('D', 2) => format!("{:02}", t.day),
            ('D', 1) => t.day.to_string(),
            ('E', 4) => WEEKDAYS[t.weekday()].to_string(),
            ('E', 3) => WEEKDAYS[t.weekday()][..3].to_string(),
            ('h', 2) => format!("{:02}", t.hour),
            ('h', 1) => t.hour.to_string(),
            ('H', 2) => format!("{hour12:02}"),
            ('H', 1) => hour12.to_string(),
            ('A', 2) => (if t.hour < 12 { "AM" } else { "PM" }).to_string(),
            ('a', 2) => (if t.hour < 12 { "am" } else { "pm" }).to_string(),
            ('m', 2) => format!("{:02}", t.minute),
            ('m', 1) => t.minute.to_string(),
            ('s', 2) => format!("{:02}", t.second),
            ('s', 1) => t.second.to_string(),
            ('Z', 5) => t.offset_text(true),
            ('Z', 4) => t.offset_text(false),
            ('Z', 3) if t.offset.is_none() => "UTC".to_string(),
            ('Z', 3) => t.offset_text(false),
            ('Z', 1) if t.offset.is_none() => "Z".to_string(),
            ('Z', 1) => t.offset_text(true),
            _ => {
                let sequence: String = std::iter::repeat_n(c, run).collect();
                return Err(format!("invalid date format sequence {sequence:?}; letters must be quoted, like 'T'"));
            }
        };
        out.push_str(&text);
        i += run;
    }
    Ok(out)
}

pub fn timeadd(timestamp: &str, duration: &str) -> Result<String, String> {
    // Years 0000 to 9999, the range RFC 3339 can write.
    const FIRST: i128 = -62_167_219_200 * 1_000_000_000;
    const LAST: i128 = 253_402_300_799 * 1_000_000_000;
    let t = DateTime::parse(timestamp)?;
    let nanos = t.epoch_nanos() + parse_duration(duration)?;
    if !(FIRST..=LAST).contains(&nanos) {
        return Err(format!("adding {duration:?} to {timestamp:?} leaves the years 0000 to 9999"));
    }
    Ok(DateTime::from_epoch_nanos(nanos, t.offset).rfc3339())
}

/// -1, 0 or 1 as the first moment is before, at or after the second.
pub fn timecmp(a: &str, b: &str) -> Result<i32, String> {
    let (a, b) = (DateTime::parse(a)?.epoch_nanos(), DateTime::parse(b)?.epoch_nanos());
    Ok(match a.cmp(&b) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    })
}
