//! Numbers as the Terraform language has them: binary floating point of arbitrary
//! size, 512 bits of mantissa for literals and arithmetic, so integers are exact at
//! any size and `1/3` keeps 154 digits. Printing gives the shortest decimal that
//! reads back to the same value at the number's precision, as Terraform prints.

use std::cmp::Ordering;
use std::fmt;

use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::{ToPrimitive, Zero};

/// Mantissa bits of literals and of every arithmetic result.
pub const PRECISION: u32 = 512;
/// Mantissa bits of a number that came from a 64-bit float (`pow`, `log`).
const F64_PRECISION: u32 = 53;

#[derive(Clone)]
pub struct Number(Repr);

#[derive(Clone)]
enum Repr {
    /// Almost every number a configuration holds: counts, ports, sizes. Exact.
    Int(i64),
    Big(Box<BigFloat>),
    Infinity { negative: bool },
}

/// `(-1)^negative * mantissa * 2^exponent`, the mantissa odd (or zero) and at most
/// `precision` bits long.
#[derive(Clone, Debug)]
struct BigFloat {
    negative: bool,
    mantissa: BigUint,
    exponent: i64,
    precision: u32,
}

impl BigFloat {
    /// Rounds `m * 2^e` (plus a fraction below its last bit when `sticky`) to
    /// `precision` bits, to nearest with ties to even.
    fn rounded(negative: bool, mut m: BigUint, mut e: i64, sticky: bool, precision: u32) -> BigFloat {
        let bits = m.bits();
        if bits > u64::from(precision) {
            let shift = bits - u64::from(precision);
            let half = m.bit(shift - 1);
            let below_half = sticky || m.trailing_zeros().is_some_and(|z| z < shift - 1);
            m >>= shift;
            e += shift as i64;
            if half && (below_half || m.bit(0)) {
                m += 1u32;
            }
        }
        if let Some(z) = m.trailing_zeros() {
            m >>= z;
            e += z as i64;
        }
        BigFloat { negative, mantissa: m, exponent: e, precision }
    }

    fn is_zero(&self) -> bool {
        self.mantissa.is_zero()
    }

    /// The exact decimal digits of the value and where the point goes.
    fn decimal(&self) -> Decimal {
        Decimal::of(&self.mantissa, self.exponent)
    }

    fn is_integer(&self) -> bool {
        self.exponent >= 0 || self.mantissa.is_zero()
    }

    /// The integer part, rounded toward zero.
    fn trunc(&self) -> BigUint {
        if self.exponent >= 0 {
            &self.mantissa << self.exponent as u64
        } else {
            &self.mantissa >> (-self.exponent) as u64
        }
    }
}

/// Decimal digits `d1 d2 ...` (no leading or trailing zeros) meaning `0.d1d2... * 10^exp`.
#[derive(Debug)]
struct Decimal {
    digits: Vec<u8>,
    exp: i64,
}

impl Decimal {
    fn of(m: &BigUint, e: i64) -> Decimal {
        let (n, scale) = if e >= 0 { (m << e as u64, 0) } else { (m * BigUint::from(5u32).pow((-e) as u32), -e) };
        if n.is_zero() {
            return Decimal { digits: Vec::new(), exp: 0 };
        }
        let mut digits = n.to_string().into_bytes();
        let exp = digits.len() as i64 - scale;
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        Decimal { digits, exp }
    }

    fn at(&self, i: i64) -> u8 {
        usize::try_from(i).ok().and_then(|i| self.digits.get(i)).copied().unwrap_or(b'0')
    }

    fn round(&mut self, n: i64) {
        if n < 0 || n >= self.digits.len() as i64 {
            return;
        }
        let n = n as usize;
        let up = if self.digits[n] == b'5' && n + 1 == self.digits.len() {
            n > 0 && (self.digits[n - 1] - b'0') % 2 == 1
        } else {
            self.digits[n] >= b'5'
        };
        if up {
            self.round_up(n)
        } else {
            self.round_down(n)
        }
    }

    fn round_up(&mut self, mut n: usize) {
        if n >= self.digits.len() {
            return;
        }
        while n > 0 && self.digits[n - 1] >= b'9' {
            n -= 1;
        }
        if n == 0 {
            self.digits.truncate(1);
            self.digits[0] = b'1';
            self.exp += 1;
            return;
        }
        self.digits[n - 1] += 1;
        self.digits.truncate(n);
    }

    fn round_down(&mut self, n: usize) {
        if n >= self.digits.len() {
            return;
        }
        self.digits.truncate(n);
        while self.digits.last() == Some(&b'0') {
            self.digits.pop();
        }
    }

    /// Keeps the fewest digits that still read back as `x` at its precision.
    fn round_shortest(&mut self, x: &BigFloat) {
        if self.digits.is_empty() {
            return;
        }
        // The mantissa with one more bit than the precision: its last bit is half an ulp.
        let wanted = u64::from(x.precision) + 1;
        let bits = x.mantissa.bits();
        let (m, e) = if bits < wanted {
            (&x.mantissa << (wanted - bits), x.exponent - (wanted - bits) as i64)
        } else {
            (x.mantissa.clone(), x.exponent)
        };
        let lower = Decimal::of(&(&m - 1u32), e);
        let upper = Decimal::of(&(&m + 1u32), e);
        let inclusive = !m.bit(1);
        // Digit by digit at the same index, as Terraform's runtime compares them.
        for i in 0..self.digits.len() {
            let digit = self.digits[i];
            let l = lower.at(i as i64);
            let u = upper.at(i as i64);
            let ok_down = l != digit || (inclusive && i + 1 == lower.digits.len());
            let ok_up = digit != u && (inclusive || digit + 1 < u || i + 1 < upper.digits.len());
            match (ok_down, ok_up) {
                (true, true) => return self.round(i as i64 + 1),
                (true, false) => return self.round_down(i + 1),
                (false, true) => return self.round_up(i + 1),
                (false, false) => {}
            }
        }
    }

    /// `ddd.ddd` with `fraction` digits after the point.
    fn fixed(&self, fraction: i64, out: &mut String) {
        if self.exp > 0 {
            let whole = (self.exp as usize).min(self.digits.len());
            out.push_str(std::str::from_utf8(&self.digits[..whole]).unwrap_or_default());
            out.extend(std::iter::repeat_n('0', self.exp as usize - whole));
        } else {
            out.push('0');
        }
        if fraction > 0 {
            out.push('.');
            for i in 0..fraction {
                out.push(char::from(self.at(self.exp + i)));
            }
        }
    }
}

fn pow10(k: u32) -> BigUint {
    BigUint::from(10u32).pow(k)
}

impl Number {
    pub const ZERO: Number = Number(Repr::Int(0));

    /// Parses a decimal literal (`12`, `-1.5`, `1e400`, `.5`) at 512 bits.
    pub fn parse(text: &str) -> Option<Number> {
        let (negative, body) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], body[i + 1..].parse::<i64>().ok()?),
            None => (body, 0),
        };
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if whole.is_empty() && fraction.is_empty() || !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Terraform's limit on a literal's size; a bigger exponent would take unbounded memory.
        let exp10 = exponent.checked_sub(fraction.len() as i64).filter(|e| e.abs() <= 100_000)?;
        let digits = format!("{whole}{fraction}");
        if exp10 == 0 && digits.len() <= 18 {
            let n = Number(Repr::Int(digits.parse().ok()?));
            return Some(if negative { n.neg() } else { n });
        }
        let d: BigUint = digits.parse().ok()?;
        if d.is_zero() {
            return Some(if negative { Number::ZERO.neg() } else { Number::ZERO });
        }
        let big = if exp10 >= 0 {
            BigFloat::rounded(negative, d * pow10(exp10 as u32), 0, false, PRECISION)
        } else {
            divide(negative, d, 0, pow10((-exp10) as u32), 0, PRECISION)
        };
        Some(Number::from_big(big))
    }

    /// A float from outside the language's arithmetic (`pow`, `log`): it keeps the 53
    /// bits it has, so it prints as the float prints. NaN has no number.
    pub fn from_f64(f: f64) -> Option<Number> {
        if f.is_nan() {
            return None;
        }
        if f.is_infinite() {
            return Some(Number(Repr::Infinity { negative: f < 0.0 }));
        }
        if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
            return Some(Number(Repr::Int(f as i64)));
        }
        let bits = f.to_bits();
        let negative = bits >> 63 == 1;
        let raw_exp = ((bits >> 52) & 0x7ff) as i64;
        let frac = bits & ((1u64 << 52) - 1);
        let (m, e) = if raw_exp == 0 { (frac, -1074) } else { (frac | (1u64 << 52), raw_exp - 1075) };
        Some(Number::from_big(BigFloat::rounded(negative, BigUint::from(m), e, false, F64_PRECISION)))
    }

    fn from_big(big: BigFloat) -> Number {
        if big.is_zero() {
            return Number::ZERO;
        }
        if big.exponent >= 0 && big.mantissa.bits() + big.exponent as u64 <= 62 {
            let magnitude = (&big.mantissa << big.exponent as u64).to_i64().unwrap_or(0);
            // An integer of a float's 53 bits beyond 2^53 prints rounded; it stays a float.
            if big.precision >= 64 || magnitude < (1 << 53) {
                return Number(Repr::Int(if big.negative { -magnitude } else { magnitude }));
            }
        }
        Number(Repr::Big(Box::new(big)))
    }

    fn big(&self) -> Option<BigFloat> {
        match &self.0 {
            Repr::Int(i) => Some(BigFloat::rounded(*i < 0, BigUint::from(i.unsigned_abs()), 0, false, 64)),
            Repr::Big(b) => Some((**b).clone()),
            Repr::Infinity { .. } => None,
        }
    }

    pub fn is_infinite(&self) -> bool {
        matches!(self.0, Repr::Infinity { .. })
    }

    pub fn is_negative(&self) -> bool {
        match &self.0 {
            Repr::Int(i) => *i < 0,
            Repr::Big(b) => b.negative,
            Repr::Infinity { negative } => *negative,
        }
    }

    pub fn is_integer(&self) -> bool {
        match &self.0 {
            Repr::Int(_) => true,
            Repr::Big(b) => b.is_integer(),
            Repr::Infinity { .. } => false,
        }
    }

    /// The value as an `i64` when it is a whole number that fits.
    pub fn to_i64(&self) -> Option<i64> {
        match &self.0 {
            Repr::Int(i) => Some(*i),
            Repr::Big(b) if b.is_integer() => {
                let m = b.trunc().to_i64()?;
                Some(if b.negative { -m } else { m })
            }
            _ => None,
        }
    }

    /// The nearest `f64` (for the functions Terraform computes in 64-bit floats).
    pub fn to_f64(&self) -> f64 {
        match &self.0 {
            Repr::Int(i) => *i as f64,
            Repr::Infinity { negative } => {
                if *negative {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                }
            }
            Repr::Big(b) => {
                let bits = b.mantissa.bits();
                let shift = bits.saturating_sub(64);
                let top = (&b.mantissa >> shift).to_u64().unwrap_or(0) as f64;
                let mut exp = b.exponent + shift as i64;
                let mut f = top;
                // Scaled in steps: 2^exp alone may not be representable.
                while exp > 0 {
                    let step = exp.min(1000);
                    f *= 2f64.powi(step as i32);
                    exp -= step;
                }
                while exp < 0 {
                    let step = exp.max(-1000);
                    f *= 2f64.powi(step as i32);
                    exp -= step;
                }
                if b.negative {
                    -f
                } else {
                    f
                }
            }
        }
    }

    /// Negation keeps the sign of zero, as Terraform's numbers do: `-0` prints as `-0`.
    pub fn neg(&self) -> Number {
        match &self.0 {
            Repr::Int(0) => Number(Repr::Big(Box::new(BigFloat { negative: true, mantissa: BigUint::ZERO, exponent: 0, precision: PRECISION }))),
            Repr::Big(b) if b.is_zero() => Number::ZERO,
            Repr::Int(i) => match i.checked_neg() {
                Some(n) => Number(Repr::Int(n)),
                None => Number::from_big(BigFloat::rounded(false, BigUint::from(i.unsigned_abs()), 0, false, PRECISION)),
            },
            Repr::Big(b) => Number(Repr::Big(Box::new(BigFloat { negative: !b.negative, ..(**b).clone() }))),
            Repr::Infinity { negative } => Number(Repr::Infinity { negative: !negative }),
        }
    }

    pub fn abs(&self) -> Number {
        if self.is_negative() {
            self.neg()
        } else {
            self.clone()
        }
    }

    pub fn add(&self, other: &Number) -> Number {
        if let (Repr::Int(a), Repr::Int(b)) = (&self.0, &other.0) {
            if let Some(n) = a.checked_add(*b) {
                return Number(Repr::Int(n));
            }
        }
        match (self.big(), other.big()) {
            (Some(a), Some(b)) => Number::from_big(add(&a, &b)),
            // Infinity plus anything but the opposite infinity is itself.
            _ => match (&self.0, &other.0) {
                (Repr::Infinity { .. }, _) => self.clone(),
                _ => other.clone(),
            },
        }
    }

    pub fn sub(&self, other: &Number) -> Number {
        self.add(&other.neg())
    }

    pub fn mul(&self, other: &Number) -> Number {
        if let (Repr::Int(a), Repr::Int(b)) = (&self.0, &other.0) {
            if let Some(n) = a.checked_mul(*b) {
                return Number(Repr::Int(n));
            }
        }
        match (self.big(), other.big()) {
            (Some(a), Some(b)) => Number::from_big(BigFloat::rounded(
                a.negative != b.negative,
                &a.mantissa * &b.mantissa,
                a.exponent + b.exponent,
                false,
                PRECISION,
            )),
            _ => Number(Repr::Infinity { negative: self.is_negative() != other.is_negative() }),
        }
    }

    /// `None` for zero by zero and infinity by infinity; anything else by zero is an
    /// infinity, as in Terraform.
    pub fn div(&self, other: &Number) -> Option<Number> {
        if other.is_zero() {
            return (!self.is_zero()).then(|| Number(Repr::Infinity { negative: self.is_negative() }));
        }
        if self.is_infinite() && other.is_infinite() {
            return None;
        }
        if let (Repr::Int(a), Repr::Int(b)) = (&self.0, &other.0) {
            if a % b == 0 {
                if let Some(n) = a.checked_div(*b) {
                    return Some(Number(Repr::Int(n)));
                }
            }
        }
        Some(match (self.big(), other.big()) {
            (Some(a), Some(b)) => Number::from_big(divide(
                a.negative != b.negative,
                a.mantissa,
                a.exponent,
                b.mantissa,
                b.exponent,
                PRECISION,
            )),
            (None, _) => Number(Repr::Infinity { negative: self.is_negative() != other.is_negative() }),
            (Some(_), None) => Number::ZERO,
        })
    }

    /// Terraform's `%`: `a - b * trunc(a / b)`, so the result takes the dividend's sign;
    /// `a % 0` is `a`.
    pub fn rem(&self, other: &Number) -> Option<Number> {
        if other.is_zero() {
            return Some(self.clone());
        }
        if let (Repr::Int(a), Repr::Int(b)) = (&self.0, &other.0) {
            return Some(Number(Repr::Int(a.checked_rem(*b).unwrap_or(0))));
        }
        if self.is_infinite() {
            return Some(self.mul(other));
        }
        if other.is_infinite() {
            return Some(self.clone());
        }
        let quotient = self.div(other)?.trunc();
        Some(self.sub(&other.mul(&quotient)))
    }

    pub fn is_zero(&self) -> bool {
        match &self.0 {
            Repr::Int(i) => *i == 0,
            Repr::Big(b) => b.is_zero(),
            Repr::Infinity { .. } => false,
        }
    }

    /// Rounded toward zero.
    pub fn trunc(&self) -> Number {
        match &self.0 {
            Repr::Big(b) if !b.is_integer() => {
                Number::from_big(BigFloat::rounded(b.negative, b.trunc(), 0, false, PRECISION.max(b.precision)))
            }
            _ => self.clone(),
        }
    }

    pub fn floor(&self) -> Number {
        let t = self.trunc();
        if self.is_negative() && t != *self {
            t.sub(&Number::from(1))
        } else {
            t
        }
    }

    pub fn ceil(&self) -> Number {
        let t = self.trunc();
        if !self.is_negative() && t != *self {
            t.add(&Number::from(1))
        } else {
            t
        }
    }

    pub fn signum(&self) -> Number {
        if self.is_zero() {
            Number::ZERO
        } else if self.is_negative() {
            Number::from(-1)
        } else {
            Number::from(1)
        }
    }

    fn decimal(&self) -> Option<Decimal> {
        match &self.0 {
            Repr::Int(i) => Some(Decimal::of(&BigUint::from(i.unsigned_abs()), 0)),
            Repr::Big(b) => Some(b.decimal()),
            Repr::Infinity { .. } => None,
        }
    }

    /// `%.Nf`: exactly `fraction` digits after the point, rounded half to even.
    pub fn format_fixed(&self, fraction: usize) -> String {
        let Some(mut d) = self.decimal() else { return self.to_string() };
        d.round(d.exp + fraction as i64);
        let mut out = String::new();
        if self.is_negative() && !d.digits.is_empty() {
            out.push('-');
        }
        d.fixed(fraction as i64, &mut out);
        out
    }

    /// `%.Ne`: one digit, the point, `fraction` digits, and a two-digit exponent at least.
    pub fn format_exponent(&self, fraction: usize) -> String {
        let Some(mut d) = self.decimal() else { return self.to_string() };
        d.round(1 + fraction as i64);
        let mut out = String::new();
        if self.is_negative() && !d.digits.is_empty() {
            out.push('-');
        }
        out.push(char::from(d.at(0)));
        if fraction > 0 {
            out.push('.');
            for i in 1..=fraction as i64 {
                out.push(char::from(d.at(i)));
            }
        }
        let exp = if d.digits.is_empty() { 0 } else { d.exp - 1 };
        out.push_str(&format!("e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs()));
        out
    }

    /// JSON for this number: exact, as it prints.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.0 {
            Repr::Int(i) => serde_json::Value::Number((*i).into()),
            Repr::Infinity { .. } => serde_json::Value::Null,
            // State and outputs hold no negative zero, as Terraform's do not.
            Repr::Big(b) if b.is_zero() => serde_json::Value::Number(0.into()),
            Repr::Big(_) => self.to_string().parse::<serde_json::Number>().map_or(serde_json::Value::Null, serde_json::Value::Number),
        }
    }

    /// A JSON number read back at 512 bits.
    pub fn from_json(n: &serde_json::Number) -> Number {
        if let Some(i) = n.as_i64() {
            return Number::from(i);
        }
        Number::parse(&n.to_string()).unwrap_or(Number::ZERO)
    }
}

/// `a + b` exactly, then rounded.
fn add(a: &BigFloat, b: &BigFloat) -> BigFloat {
    if a.is_zero() && b.is_zero() {
        return BigFloat { negative: a.negative && b.negative, ..a.clone() };
    }
    if a.is_zero() {
        return BigFloat { precision: PRECISION, ..b.clone() };
    }
    if b.is_zero() {
        return BigFloat { precision: PRECISION, ..a.clone() };
    }
    let e = a.exponent.min(b.exponent);
    let x = &a.mantissa << (a.exponent - e) as u64;
    let y = &b.mantissa << (b.exponent - e) as u64;
    let (negative, m) = if a.negative == b.negative {
        (a.negative, x + y)
    } else if x >= y {
        (a.negative, x - y)
    } else {
        (b.negative, y - x)
    };
    BigFloat::rounded(negative, m, e, false, PRECISION)
}

/// `(n * 2^ne) / (d * 2^de)`, correctly rounded to `precision` bits.
fn divide(negative: bool, n: BigUint, ne: i64, d: BigUint, de: i64, precision: u32) -> BigFloat {
    // Enough quotient bits to round correctly, with the remainder as the sticky bit.
    let wanted = u64::from(precision) + 2;
    let shift = (wanted + d.bits()).saturating_sub(n.bits());
    let (q, r) = (n << shift).div_rem(&d);
    BigFloat::rounded(negative, q, ne - de - shift as i64, !r.is_zero(), precision)
}

impl From<i64> for Number {
    fn from(n: i64) -> Number {
        Number(Repr::Int(n))
    }
}

impl From<i32> for Number {
    fn from(n: i32) -> Number {
        Number(Repr::Int(i64::from(n)))
    }
}

impl From<u32> for Number {
    fn from(n: u32) -> Number {
        Number(Repr::Int(i64::from(n)))
    }
}

impl From<usize> for Number {
    fn from(n: usize) -> Number {
        match i64::try_from(n) {
            Ok(i) => Number(Repr::Int(i)),
            Err(_) => Number::from_big(BigFloat::rounded(false, BigUint::from(n), 0, false, PRECISION)),
        }
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Number {}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Number) -> Ordering {
        match (&self.0, &other.0) {
            (Repr::Int(a), Repr::Int(b)) => a.cmp(b),
            (Repr::Infinity { negative: a }, Repr::Infinity { negative: b }) => b.cmp(a),
            (Repr::Infinity { negative }, _) => if *negative { Ordering::Less } else { Ordering::Greater },
            (_, Repr::Infinity { negative }) => if *negative { Ordering::Greater } else { Ordering::Less },
            _ => {
                let diff = self.sub(other);
                if diff.is_zero() {
                    Ordering::Equal
                } else if diff.is_negative() {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
        }
    }
}

impl fmt::Display for Number {
    /// The shortest decimal that reads back as this number, never in exponent form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Int(i) => write!(f, "{i}"),
            Repr::Infinity { negative } => f.write_str(if *negative { "-Inf" } else { "+Inf" }),
            Repr::Big(b) => {
                let mut d = b.decimal();
                d.round_shortest(b);
                let mut out = String::new();
                if b.negative {
                    out.push('-');
                }
                d.fixed((d.digits.len() as i64 - d.exp).max(0), &mut out);
                f.write_str(&out)
            }
        }
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        Number::parse(s).unwrap()
    }

    #[test]
    fn literals_keep_every_digit() {
        assert_eq!(n("12345678901234567890").to_string(), "12345678901234567890");
        assert_eq!(n("1234567890123456789012345678901234567890").to_string(), "1234567890123456789012345678901234567890");
        assert_eq!(n("123456789.123456789").to_string(), "123456789.123456789");
        assert_eq!(n("1e-7").to_string(), "0.0000001");
        assert_eq!(n("1e400").to_string(), format!("1{}", "0".repeat(400)));
        assert_eq!(Number::ZERO.neg().to_string(), "-0");
        assert_eq!(Number::ZERO.neg().to_json(), serde_json::json!(0));
        assert_eq!(Number::ZERO.neg().add(&Number::ZERO).to_string(), "0");
    }

    #[test]
    fn arithmetic_rounds_at_512_bits() {
        assert_eq!(n("0.1").add(&n("0.2")).to_string(), "0.3");
        let third = n("1").div(&n("3")).unwrap().to_string();
        assert_eq!(third, format!("0.{}5", "3".repeat(154)));
        let two_thirds = n("2").div(&n("3")).unwrap().to_string();
        assert_eq!(two_thirds, format!("0.{}7", "6".repeat(153)));
        assert_eq!(n("1234567890123456789012345678901234567890").mul(&n("3")).to_string(), "3703703670370370367037037036703703703670");
        assert_eq!(n("10").div(&n("4")).unwrap().to_string(), "2.5");
        assert_eq!(n("1").div(&n("0")).unwrap().to_string(), "+Inf");
        assert!(n("0").div(&n("0")).is_none());
        assert_eq!(n("5").rem(&n("0")).unwrap().to_string(), "5");
    }

    #[test]
    fn floats_print_at_their_own_precision() {
        assert_eq!(Number::from_f64(2f64.sqrt()).unwrap().to_string(), "1.4142135623730951");
        assert_eq!(Number::from_f64(2f64.powi(62)).unwrap().to_string(), "4611686018427388000");
    }

    #[test]
    fn remainder_takes_the_dividends_sign() {
        assert_eq!(n("-7").rem(&n("3")).unwrap().to_string(), "-1");
        assert_eq!(n("7.5").rem(&n("2")).unwrap().to_string(), "1.5");
    }

    #[test]
    fn fixed_and_exponent_formats_round_half_to_even() {
        assert_eq!(n("2.5").format_fixed(0), "2");
        assert_eq!(n("3.14159").format_fixed(2), "3.14");
        assert_eq!(n("0.06").format_fixed(1), "0.1");
        assert_eq!(n("1234.5").format_exponent(2), "1.23e+03");
    }

    #[test]
    fn comparison_is_exact() {
        assert!(n("12345678901234567891") > n("12345678901234567890"));
        assert_eq!(n("0.5"), n("0.50"));
        assert!(n("-1.5") < Number::from(-1));
    }
}
