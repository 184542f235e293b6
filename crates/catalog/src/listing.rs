//! The product listing's query: parameters parsed into a normalised [`Filter`], the [`Sort`] orders and the
//! opaque keyset [`Cursor`].
//!
//! Normalisation is what makes cache keys stable: values are trimmed and case-folded where case does not
//! matter (the name filter, the sort, slugs, UUIDs), and the key is a hash of the normalised struct, whose
//! field order is fixed — so `?sort=PRICE_ASC&name=Tea` and `?name=tea&sort=price_asc` share one entry.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use kit::FieldError;

use kit::page::{bad_cursor, Limit};

use crate::domain::{Currency, Slug, SLUG_MAX};

/// Longest accepted name filter, in characters.
const NAME_FILTER_MAX: usize = 100;
/// Longest name a name-order cursor may carry, in bytes.
const CURSOR_NAME_MAX: usize = 1024;
/// Largest `created_at` a cursor may carry: 9999-12-31T23:59:59.999999Z in microseconds since the epoch.
const CREATED_MAX_MICROS: i64 = 253_402_300_799_999_999;

/// The query string of `GET /products`, as sent. Unknown and repeated parameters are a 400.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListQuery {
    name: Option<String>,
    category: Option<String>,
    include_subcategories: Option<bool>,
    min_price: Option<i64>,
    max_price: Option<i64>,
    currency: Option<String>,
    in_stock: Option<bool>,
    sort: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
    include_inactive: Option<bool>,
}

/// The orders of the listing. Every order is total: ties are broken by the product id in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Cheapest first.
    PriceAsc,
    /// Most expensive first.
    PriceDesc,
    /// By name, case-insensitive, A to Z (byte order of the lower-cased name).
    NameAsc,
    /// By name, Z to A.
    NameDesc,
    /// Most recently created first (the default).
    #[default]
    Newest,
    /// Oldest first.
    Oldest,
}

impl Sort {
    /// Every accepted value of `sort`, for error messages and docs.
    pub const VALUES: &'static str = "price_asc, price_desc, name_asc, name_desc, newest, oldest";

    fn parse(raw: &str) -> Option<Self> {
        Some(match raw.trim().to_ascii_lowercase().as_str() {
            "price_asc" => Sort::PriceAsc,
            "price_desc" => Sort::PriceDesc,
            "name_asc" => Sort::NameAsc,
            "name_desc" => Sort::NameDesc,
            "newest" => Sort::Newest,
            "oldest" => Sort::Oldest,
            _ => return None,
        })
    }

    /// Whether the order is descending.
    pub fn descending(self) -> bool {
        matches!(self, Sort::PriceDesc | Sort::NameDesc | Sort::Newest)
    }
}

/// A category filter: by id or by slug.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CategoryRef {
    /// The category's id.
    Id(uuid::Uuid),
    /// The category's slug.
    Slug(String),
}

/// The sort key of the last item of a page, where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SortKey {
    /// `price_cents` (price orders) or `created_at` in microseconds since the epoch (newest, oldest).
    Int(i64),
    /// The lower-cased name (name orders).
    Text(String),
}

/// An opaque keyset cursor: the sort it belongs to, the last item's sort key and its id, as base64url JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cursor {
    #[serde(rename = "s")]
    sort: Sort,
    #[serde(rename = "k")]
    key: SortKey,
    id: uuid::Uuid,
}

impl Cursor {
    /// The cursor after an item with sort key `key` and id `id`.
    pub fn new(sort: Sort, key: SortKey, id: uuid::Uuid) -> Self {
        Self { sort, key, id }
    }

    /// The opaque text sent to clients.
    pub fn encode(&self) -> String {
        kit::page::Cursor(self).encode()
    }

    /// Decodes and validates a cursor for `sort`.
    fn decode(raw: &str, sort: Sort) -> Result<Self, FieldError> {
        let cursor: Cursor = kit::page::Cursor::decode(raw)?.0;
        if cursor.sort != sort {
            return Err(bad_cursor(Some("belongs to another sort order; start again without a cursor")));
        }
        let valid_key = match (&cursor.key, sort) {
            (SortKey::Int(price), Sort::PriceAsc | Sort::PriceDesc) => *price >= 0,
            (SortKey::Int(micros), Sort::Newest | Sort::Oldest) => (0..=CREATED_MAX_MICROS).contains(micros),
            (SortKey::Text(name), Sort::NameAsc | Sort::NameDesc) => name.len() <= CURSOR_NAME_MAX,
            _ => false,
        };
        if valid_key {
            Ok(cursor)
        } else {
            Err(bad_cursor(None))
        }
    }

    /// The sort key.
    pub fn key(&self) -> &SortKey {
        &self.key
    }

    /// The id of the last item.
    pub fn id(&self) -> uuid::Uuid {
        self.id
    }
}

/// The normalised filter set of one listing request (also the cache key's input).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Filter {
    /// Lower-cased substring of the name.
    pub name: Option<String>,
    /// The category.
    pub category: Option<CategoryRef>,
    /// Whether products of the category's descendants match too.
    pub include_subcategories: bool,
    /// Lowest price in minor units, inclusive.
    pub min_price: Option<i64>,
    /// Highest price in minor units, inclusive.
    pub max_price: Option<i64>,
    /// Only prices in this currency.
    #[serde(serialize_with = "serialize_currency")]
    pub currency: Option<Currency>,
    /// `true`: stock > 0; `false`: stock = 0.
    pub in_stock: Option<bool>,
    /// The order.
    pub sort: Sort,
    /// Page size.
    pub limit: Limit,
    /// Where the page starts.
    #[serde(skip)]
    pub cursor: Option<Cursor>,
    /// Include inactive products (admins only; such listings are never cached).
    pub include_inactive: bool,
}

fn serialize_currency<S: serde::Serializer>(currency: &Option<Currency>, serializer: S) -> Result<S::Ok, S::Error> {
    match currency {
        Some(currency) => serializer.serialize_some(currency.as_str()),
        None => serializer.serialize_none(),
    }
}

impl Filter {
    /// Validates and normalises the raw parameters; every problem names the parameter (a 400).
    pub fn parse(raw: RawListQuery) -> Result<Self, FieldError> {
        let name = match raw.name.as_deref().map(str::trim).filter(|name| !name.is_empty()) {
            None => None,
            Some(name) if name.chars().count() > NAME_FILTER_MAX => {
                return Err(FieldError::new("name", format!("must be at most {NAME_FILTER_MAX} characters")))
            }
            Some(name) if name.chars().any(char::is_control) => {
                return Err(FieldError::new("name", "must not contain control characters"))
            }
            Some(name) => Some(name.to_lowercase()),
        };
        // Bounded as sent, before trimming, so the document's `maxLength` is the rule (a slug is at most
        // 100 characters, a UUID 45).
        if raw.category.as_deref().is_some_and(|category| category.chars().count() > SLUG_MAX) {
            return Err(FieldError::new("category", format!("must be at most {SLUG_MAX} characters")));
        }
        let category = match raw.category.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(text) => Some(match uuid::Uuid::parse_str(text) {
                Ok(id) => CategoryRef::Id(id),
                Err(_) => CategoryRef::Slug(
                    Slug::parse(&text.to_ascii_lowercase())
                        .map_err(|_| FieldError::new("category", "must be a category id or slug"))?
                        .as_str()
                        .to_owned(),
                ),
            }),
        };
        let include_subcategories = raw.include_subcategories.unwrap_or(false);
        if include_subcategories && category.is_none() {
            return Err(FieldError::new("include_subcategories", "needs a `category`"));
        }
        for (field, price) in [("min_price", raw.min_price), ("max_price", raw.max_price)] {
            if price.is_some_and(|price| price < 0) {
                return Err(FieldError::new(field, "must not be negative"));
            }
        }
        if let (Some(min), Some(max)) = (raw.min_price, raw.max_price) {
            if min > max {
                return Err(FieldError::new("min_price", "must not be greater than max_price"));
            }
        }
        let currency = match raw.currency.as_deref() {
            None => None,
            Some(code) => Some(Currency::parse(code).map_err(|message| FieldError::new("currency", message))?),
        };
        let sort = match raw.sort.as_deref() {
            None => Sort::default(),
            Some(text) => {
                Sort::parse(text).ok_or_else(|| FieldError::new("sort", format!("must be one of {}", Sort::VALUES)))?
            }
        };
        let limit = Limit::parse(raw.limit)?;
        let cursor = match raw.cursor.as_deref().filter(|c| !c.trim().is_empty()) {
            None => None,
            Some(text) => Some(Cursor::decode(text, sort)?),
        };
        Ok(Self {
            name,
            category,
            include_subcategories,
            min_price: raw.min_price,
            max_price: raw.max_price,
            currency,
            in_stock: raw.in_stock,
            sort,
            limit,
            cursor,
            include_inactive: raw.include_inactive.unwrap_or(false),
        })
    }

    /// A stable hash of the normalised filters and the page position: the cache key's suffix.
    pub fn cache_hash(&self) -> String {
        #[derive(Serialize)]
        struct Keyed<'a> {
            filter: &'a Filter,
            cursor: Option<String>,
        }
        let keyed = Keyed { filter: self, cursor: self.cursor.as_ref().map(Cursor::encode) };
        let canonical = serde_json::to_vec(&keyed).unwrap_or_default();
        let digest = Sha256::digest(&canonical);
        digest.iter().take(16).map(|byte| format!("{byte:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<Filter, FieldError> {
        let raw: RawListQuery =
            serde_urlencoded::from_str(query).map_err(|e| FieldError::new("query", e.to_string()))?;
        Filter::parse(raw)
    }

    fn bad_field(query: &str) -> String {
        match parse(query) {
            Err(error) => error.field,
            other => panic!("{query}: expected a bad query, got {other:?}"),
        }
    }

    #[test]
    fn same_filters_in_any_order_or_case_have_one_hash() {
        let a = parse("name=Green%20Tea&sort=PRICE_ASC&category=Drinks&min_price=100&currency=eur").unwrap();
        let b = parse("currency=EUR&min_price=100&category=drinks&sort=price_asc&name=%20green%20tea%20").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.cache_hash(), b.cache_hash());
        assert_ne!(a.cache_hash(), parse("name=green%20tea").unwrap().cache_hash());
        assert_ne!(parse("limit=20").unwrap().cache_hash(), parse("limit=21").unwrap().cache_hash());
    }

    #[test]
    fn defaults_are_newest_and_twenty() {
        let filter = parse("").unwrap();
        assert_eq!(filter.sort, Sort::Newest);
        assert_eq!(filter.limit.get(), 20);
        assert_eq!(filter.cache_hash(), parse("sort=newest&limit=20").unwrap().cache_hash());
    }

    #[test]
    fn bad_parameters_name_the_parameter() {
        assert_eq!(bad_field("min_price=10&max_price=5"), "min_price");
        assert_eq!(bad_field("min_price=-1"), "min_price");
        assert_eq!(bad_field("sort=cheapest"), "sort");
        assert_eq!(bad_field("limit=0"), "limit");
        assert_eq!(bad_field("limit=101"), "limit");
        assert_eq!(bad_field("cursor=%%%"), "cursor");
        assert_eq!(bad_field("cursor=bm90IGpzb24"), "cursor");
        assert_eq!(bad_field("category=not%20a%20slug!"), "category");
        assert_eq!(bad_field("include_subcategories=true"), "include_subcategories");
        assert_eq!(bad_field("currency=EURO"), "currency");
        assert_eq!(bad_field(&format!("name={}", "a".repeat(101))), "name");
    }

    #[test]
    fn cursors_round_trip_and_are_bound_to_their_sort() {
        let id = uuid::Uuid::new_v4();
        let cursor = Cursor::new(Sort::PriceAsc, SortKey::Int(1999), id);
        let text = cursor.encode();
        assert_eq!(Cursor::decode(&text, Sort::PriceAsc).unwrap(), cursor);
        assert!(Cursor::decode(&text, Sort::NameAsc).is_err());
        let wrong_type = Cursor::new(Sort::NameAsc, SortKey::Int(1), id).encode();
        assert!(Cursor::decode(&wrong_type, Sort::NameAsc).is_err());
        let out_of_range = Cursor::new(Sort::Newest, SortKey::Int(i64::MAX), id).encode();
        assert!(Cursor::decode(&out_of_range, Sort::Newest).is_err());
        let negative = Cursor::new(Sort::PriceDesc, SortKey::Int(-5), id).encode();
        assert!(Cursor::decode(&negative, Sort::PriceDesc).is_err());
    }
}
