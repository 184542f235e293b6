//! The document's input patterns say exactly what the components' domain types accept: for thousands of
//! generated strings (white space of every kind, control characters, NUL, non-ASCII, boundary lengths) a
//! pattern matches if and only if the component's parser accepts the value. Where the document states only
//! part of a rule (emails), every value it allows must be accepted.

use openapi::contract;
use regex::Regex;

/// Characters that exercise every branch of the rules: what `trim` removes, what `is_control` refuses, NUL,
/// the characters of SKUs, slugs and emails, and non-ASCII letters.
const ALPHABET: &[char] = &[
    'a', 'z', 'A', 'Z', '0', '9', '-', '.', '_', '@', '+', '!', '{', '|', '/', '"', ' ', '\t', '\n', '\r', '\u{b}',
    '\u{c}', '\0', '\u{1}', '\u{1f}', '\u{7f}', '\u{85}', '\u{9f}', '\u{a0}', '\u{1680}', '\u{2003}', '\u{2028}',
    '\u{3000}', '\u{feff}', '\u{200b}', 'é', 'ß', 'Ä', '€', '😀',
];

/// A deterministic pseudo-random sequence (xorshift), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }

    fn text(&mut self, max_len: usize, alphabet: &[char]) -> String {
        let len = self.next(max_len + 1);
        (0..len).map(|_| alphabet[self.next(alphabet.len())]).collect()
    }
}

/// Random strings, then strings of boundary lengths with and without surrounding white space.
fn samples(boundaries: &[usize]) -> Vec<String> {
    let mut rng = Rng(0x5eed_cafe_f00d_1234);
    let mut samples: Vec<String> = (0..20_000).map(|_| rng.text(12, ALPHABET)).collect();
    for &length in boundaries {
        for fill in ['a', 'é', ' ', '-', '\u{1}'] {
            let core: String =
                std::iter::once('b').chain(std::iter::repeat_n(fill, length.saturating_sub(1))).collect();
            let core = if length == 0 { String::new() } else { core };
            for pad in ["", " ", "\t\n", "\u{3000}", "\u{85}", "\u{feff}"] {
                samples.push(format!("{pad}{core}{pad}"));
                samples.push(format!("{core}{pad}"));
            }
        }
    }
    samples
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|error| panic!("{pattern}: {error}"))
}

fn assert_same(what: &str, pattern: &str, max_length: Option<usize>, accepts: impl Fn(&str) -> bool, bounds: &[usize]) {
    let pattern = regex(pattern);
    for sample in samples(bounds) {
        let documented = pattern.is_match(&sample) && max_length.is_none_or(|max| sample.chars().count() <= max);
        assert_eq!(documented, accepts(&sample), "{what}: {sample:?} (documented: {documented})");
    }
}

#[test]
fn names_match_the_trimmed_name_rules_of_users_and_products() {
    assert_same(
        "full_name",
        &contract::trimmed_name(100),
        None,
        |s| users::domain::FullName::parse(s).is_ok(),
        &[0, 1, 2, 99, 100, 101],
    );
    assert_same(
        "product name",
        &contract::trimmed_name(200),
        None,
        |s| products::domain::Name::parse(s, 200).is_ok(),
        &[0, 1, 2, 199, 200, 201],
    );
    assert_same(
        "name filter",
        &contract::trimmed_filter(100),
        None,
        |s| s.trim().is_empty() || products::domain::Name::parse(s, 100).is_ok(),
        &[0, 1, 2, 99, 100, 101],
    );
}

#[test]
fn skus_slugs_and_descriptions_match_the_catalog_rules() {
    assert_same("sku", &contract::sku(), None, |s| products::domain::Sku::parse(s).is_ok(), &[0, 1, 63, 64, 65]);
    assert_same("slug", contract::SLUG, Some(100), |s| products::domain::Slug::parse(s).is_ok(), &[0, 1, 99, 100, 101]);
    assert_same(
        "description",
        contract::DESCRIPTION,
        Some(5000),
        |s| products::domain::Description::parse(s).is_ok(),
        &[0, 4999, 5000, 5001],
    );
}

#[test]
fn every_documented_email_and_category_reference_is_accepted() {
    let email = regex(&contract::email());
    let mut rng = Rng(42);
    let local_chars: Vec<char> = "aZ09!#$%&'*+/=?^_`{|}~-.".chars().collect();
    let domain_chars: Vec<char> = "aZ09-.".chars().collect();
    let mut matched = 0;
    for _ in 0..100_000 {
        let sample = format!("{}@{}", rng.text(8, &local_chars), rng.text(12, &domain_chars));
        if email.is_match(&sample) {
            matched += 1;
            assert!(users::domain::Email::parse(&sample).is_ok(), "{sample:?} is documented but refused");
        }
    }
    let longest =
        format!("{}.{}@{}.{}.{}", "a".repeat(30), "b".repeat(30), "c".repeat(63), "d".repeat(63), "e".repeat(63));
    assert!(email.is_match(&longest) && users::domain::Email::parse(&longest).is_ok());
    assert!(matched > 100, "the sample hardly exercised the pattern ({matched})");
    for refused in ["", "a@b", "a..b@example.com", ".a@example.com", "a@-x.com", "a b@example.com", "a@example.com\n"] {
        assert!(!email.is_match(refused), "{refused:?}");
    }

    let category = regex(&contract::category_ref());
    for sample in samples(&[0, 1, 100, 101]) {
        if category.is_match(&sample) && sample.chars().count() <= 100 {
            let trimmed = sample.trim();
            let accepted = trimmed.is_empty()
                || uuid::Uuid::parse_str(trimmed).is_ok()
                || products::domain::Slug::parse(&trimmed.to_ascii_lowercase()).is_ok();
            assert!(accepted, "category {sample:?} is documented but refused");
        }
    }
}

#[test]
fn text_is_anything_but_nul_and_idempotency_keys_are_visible_ascii() {
    let text = regex(contract::TEXT);
    assert!(text.is_match("any \u{1} text é\n") && text.is_match(""));
    assert!(!text.is_match("a\0b"));
    let key = regex(contract::IDEMPOTENCY_KEY);
    assert!(key.is_match("abc-123_~!") && key.is_match(&"k".repeat(255)));
    for refused in ["", "has space", "tab\t", "é", "nul\0"] {
        assert!(!key.is_match(refused), "{refused:?}");
    }
    assert!(!key.is_match(&"k".repeat(256)));
}

#[test]
fn the_currency_list_is_the_catalogs() {
    let mut accepted = Vec::new();
    for a in b'A'..=b'Z' {
        for b in b'A'..=b'Z' {
            for c in b'A'..=b'Z' {
                let code = String::from_utf8(vec![a, b, c]).unwrap_or_default();
                if products::domain::Currency::parse(&code).is_ok() {
                    accepted.push(code);
                }
            }
        }
    }
    assert_eq!(accepted, contract::ISO_4217);
}
