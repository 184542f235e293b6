//! Domain types of the catalog, parsed once at the edge: a value of one of these types is valid by
//! construction, so the store and the handlers never re-check strings.

use serde::Serialize;

/// Longest product name, in characters (also a CHECK in the migration).
pub const PRODUCT_NAME_MAX: usize = 200;
/// Longest category name, in characters.
pub const CATEGORY_NAME_MAX: usize = 100;
/// Longest product description, in characters.
pub const DESCRIPTION_MAX: usize = 5000;
/// Longest slug, in characters.
pub const SLUG_MAX: usize = 100;
/// Longest SKU, in characters.
pub const SKU_MAX: usize = 64;

/// A stock keeping unit: 1–64 characters of `A-Z 0-9 . _ -`, starting with a letter or digit, stored upper
/// case (so `ab-1` and `AB-1` are the same SKU).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sku(String);

impl Sku {
    /// Parses and normalises a SKU.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let sku = raw.trim().to_ascii_uppercase();
        let mut chars = sku.chars();
        let Some(first) = chars.next() else {
            return Err("must not be empty".to_owned());
        };
        if sku.chars().count() > SKU_MAX {
            return Err(format!("must be at most {SKU_MAX} characters"));
        }
        if !first.is_ascii_alphanumeric() || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
            return Err("must be letters, digits, `.`, `_` or `-`, starting with a letter or digit".to_owned());
        }
        Ok(Self(sku))
    }

    /// The normalised SKU.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: trimmed, 1..=`max` characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    /// Parses a name of at most `max` characters.
    pub fn parse(raw: &str, max: usize) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("must not be empty".to_owned());
        }
        if name.chars().count() > max {
            return Err(format!("must be at most {max} characters"));
        }
        if name.chars().any(char::is_control) {
            return Err("must not contain control characters".to_owned());
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A free-text description: at most [`DESCRIPTION_MAX`] characters; line breaks and tabs allowed, other
/// control characters not.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Description(String);

impl Description {
    /// Parses a description.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.chars().count() > DESCRIPTION_MAX {
            return Err(format!("must be at most {DESCRIPTION_MAX} characters"));
        }
        if raw.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err("must not contain control characters other than line breaks and tabs".to_owned());
        }
        Ok(Self(raw.to_owned()))
    }

    /// The description.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A URL slug: lower-case ASCII letters and digits in words joined by single `-`, at most [`SLUG_MAX`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    /// Parses a slug exactly as given (no case folding: `Books` is not a slug).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let valid = !raw.is_empty()
            && raw.len() <= SLUG_MAX
            && raw
                .split('-')
                .all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!("must be 1–{SLUG_MAX} lower-case letters and digits in words joined by `-`"))
        }
    }

    /// The slug derived from a name: ASCII letters and digits kept (lower-cased), everything else a word
    /// break. `None` when nothing is left (a name with no ASCII letters or digits needs an explicit slug).
    pub fn from_name(name: &Name) -> Option<Self> {
        let lowered = name.as_str().to_ascii_lowercase();
        let words: Vec<&str> =
            lowered.split(|c: char| !c.is_ascii_alphanumeric()).filter(|word| !word.is_empty()).collect();
        let mut slug = String::new();
        for word in words {
            if slug.len() + word.len() + 1 > SLUG_MAX {
                break;
            }
            if !slug.is_empty() {
                slug.push('-');
            }
            slug.push_str(word);
        }
        Self::parse(&slug).ok()
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ISO 4217 currency code in use (upper case), e.g. `EUR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency([u8; 3]);

/// Active ISO 4217 codes, sorted (funds and precious-metal/testing codes excluded): what [`Currency::parse`]
/// accepts, and what the OpenAPI document lists.
pub const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF",
    "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC",
    "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD",
    "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL",
    "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD",
    "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
    "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
    "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES",
    "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

impl Currency {
    /// Parses an ISO 4217 code; lower case is accepted and normalised.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let code = raw.trim().to_ascii_uppercase();
        match ISO_4217.binary_search(&code.as_str()) {
            Ok(_) => {
                let bytes = code.as_bytes();
                Ok(Self([bytes[0], bytes[1], bytes[2]]))
            }
            Err(_) => Err("must be an ISO 4217 currency code such as EUR or USD".to_owned()),
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters from ISO_4217 are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// An amount of money: an integer number of the currency's minor unit (`cents`, ≥ 0) and its currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    /// Minor units (cents for EUR/USD, yen for JPY); never negative in the catalog.
    pub cents: i64,
    /// The currency.
    pub currency: Currency,
}

/// Stock on hand: 0..=`i32::MAX` units (an `integer` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stock(i32);

impl Stock {
    /// Parses a stock count.
    pub fn parse(raw: i64) -> Result<Self, String> {
        if raw < 0 {
            return Err("must not be negative".to_owned());
        }
        i32::try_from(raw).map(Self).map_err(|_| format!("must be at most {}", i32::MAX))
    }

    /// The count.
    pub fn get(self) -> i32 {
        self.0
    }
}

/// A resource id from a path segment: `None` for anything that is not a UUID (the caller answers 404).
pub fn parse_id(raw: &str) -> Option<uuid::Uuid> {
    uuid::Uuid::parse_str(raw).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_list_is_sorted_and_parsing_normalises_case() {
        assert!(ISO_4217.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(Currency::parse("eur").unwrap().as_str(), "EUR");
        assert!(Currency::parse("EURO").is_err());
        assert!(Currency::parse("XXX").is_err());
        assert!(Currency::parse("").is_err());
        assert!(Currency::parse("€").is_err());
    }

    #[test]
    fn skus_are_upper_case_and_restricted() {
        assert_eq!(Sku::parse(" ab-1.x_2 ").unwrap().as_str(), "AB-1.X_2");
        assert!(Sku::parse("").is_err());
        assert!(Sku::parse("-A").is_err());
        assert!(Sku::parse("A B").is_err());
        assert!(Sku::parse("A'; DROP TABLE x;--").is_err());
        assert!(Sku::parse(&"A".repeat(65)).is_err());
        assert!(Sku::parse(&"A".repeat(64)).is_ok());
    }

    #[test]
    fn names_are_trimmed_and_bounded_in_characters() {
        assert_eq!(Name::parse("  Tea  ", 10).unwrap().as_str(), "Tea");
        assert!(Name::parse("   ", 10).is_err());
        assert!(Name::parse(&"é".repeat(10), 10).is_ok());
        assert!(Name::parse(&"é".repeat(11), 10).is_err());
        assert!(Name::parse("a\u{0}b", 10).is_err());
    }

    #[test]
    fn slugs_are_strict_and_derived_from_ascii_words() {
        assert!(Slug::parse("home-garden2").is_ok());
        for bad in ["", "Home", "a--b", "-a", "a-", "a b", "ä"] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
        let name = Name::parse("Home & Garden — 2024!", 100).unwrap();
        assert_eq!(Slug::from_name(&name).unwrap().as_str(), "home-garden-2024");
        assert_eq!(Slug::from_name(&Name::parse("日本", 100).unwrap()), None);
    }

    #[test]
    fn stock_has_a_range() {
        assert!(Stock::parse(-1).is_err());
        assert!(Stock::parse(i64::from(i32::MAX) + 1).is_err());
        assert_eq!(Stock::parse(0).unwrap().get(), 0);
    }
}
