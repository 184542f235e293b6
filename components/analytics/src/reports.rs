//! The admin reports: sales per period and top products, over non-cancelled orders.
//!
//! Ranges are whole UTC days: `from` and `to` are dates (`YYYY-MM-DD`), both included; without them the
//! last 30 days up to today (UTC). Buckets are UTC days, ISO weeks (starting Monday) or calendar months, the
//! first and last clipped to the range; every bucket in the range is listed, empty ones with zeros.
//! Revenue is reported in one currency (`currency`, default `EUR`).

use http::StatusCode;
use kit::db::Db;
use kit::http::{json, parse_query};
use kit::identity::Identity;
use kit::{Problem, Request, Response};
use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month, OffsetDateTime};

use crate::error::Error;
use crate::store::{self, ProductSales};

/// Most buckets one sales report may have.
pub const MAX_BUCKETS: usize = 400;
/// Most products in a top-products report.
pub const MAX_LIMIT: u32 = 100;
const DEFAULT_DAYS: i64 = 30;
const DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// Bucket size of a sales report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SalesPeriod))]
pub enum Period {
    /// Calendar days (UTC).
    Day,
    /// ISO weeks, Monday to Sunday.
    Week,
    /// Calendar months.
    Month,
}

impl Period {
    fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    /// The first day of the bucket holding `date`.
    pub fn bucket_start(self, date: Date) -> Date {
        match self {
            Period::Day => date,
            // Never before EARLIEST, itself a Monday.
            Period::Week => date - Duration::days(i64::from(date.weekday().number_days_from_monday())),
            Period::Month => date.replace_day(1).unwrap_or(date),
        }
    }

    /// The first day of the bucket after the one starting at `start`.
    fn next(self, start: Date) -> Option<Date> {
        match self {
            Period::Day => start.next_day(),
            Period::Week => start.checked_add(Duration::days(7)),
            Period::Month => {
                let (year, month) = match start.month() {
                    Month::December => (start.year() + 1, Month::January),
                    month => (start.year(), month.next()),
                };
                Date::from_calendar_date(year, month, 1).ok()
            }
        }
    }

    /// The starts of every bucket overlapping `[from, to]`, or `None` when there are more than
    /// [`MAX_BUCKETS`].
    pub fn buckets(self, from: Date, to: Date) -> Option<Vec<Date>> {
        let mut starts = Vec::new();
        let mut start = self.bucket_start(from);
        while start <= to {
            if starts.len() == MAX_BUCKETS {
                return None;
            }
            starts.push(start);
            // The calendar ends in year 9999, inside the last bucket.
            let Some(next) = self.next(start) else { break };
            start = next;
        }
        Some(starts)
    }
}

/// Which measure ranks top products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = RankBy))]
pub enum Measure {
    /// Units sold.
    Quantity,
    /// Revenue.
    Revenue,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SalesQuery {
    period: Option<Period>,
    from: Option<String>,
    to: Option<String>,
    currency: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopQuery {
    from: Option<String>,
    to: Option<String>,
    limit: Option<i64>,
    by: Option<Measure>,
    currency: Option<String>,
}

/// One bucket of a sales report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SalesBucket))]
pub struct Bucket {
    /// First day of the bucket (a week bucket may start before `from`; only days in range count).
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub start: String,
    /// Orders with a line in the bucket.
    pub orders: i64,
    /// Units sold.
    pub units: i64,
    /// Revenue, minor units.
    pub revenue_cents: i64,
}

/// The answer of `GET /analytics/sales`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Sales))]
pub struct SalesReport {
    /// The bucket size.
    pub period: Period,
    /// First day of the range.
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub from: String,
    /// Last day of the range, included.
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub to: String,
    /// Always `UTC`.
    pub time_zone: &'static str,
    /// ISO 4217 code of the revenue.
    pub currency: String,
    /// Oldest first, every bucket of the range (empty ones with zeros).
    pub buckets: Vec<Bucket>,
}

/// The answer of `GET /analytics/top-products`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TopProducts))]
pub struct TopProductsReport {
    /// First day of the range.
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub from: String,
    /// Last day of the range, included.
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub to: String,
    /// The ranking used.
    pub by: Measure,
    /// ISO 4217 code of the revenue.
    pub currency: String,
    /// Best first.
    pub products: Vec<ProductSales>,
}

/// The first day a report can cover: Postgres has no year 0, which `time` would format as `0000`.
pub const EARLIEST: Date = time::macros::date!(0001 - 01 - 01);
/// The last day a report can cover: its end, the next midnight, is still a four-digit year.
pub const LATEST: Date = time::macros::date!(9999 - 12 - 30);

/// An inclusive range of UTC days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// First day.
    pub from: Date,
    /// Last day.
    pub to: Date,
}

impl Range {
    /// The range of the query's `from` and `to` (defaults: the 30 days up to `today`, never before
    /// [`EARLIEST`]); 400 when a date is malformed, outside [`EARLIEST`]..=[`LATEST`] or `from` is after `to`.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: Date) -> Result<Self, Problem> {
        let to = match to {
            Some(text) => date(text, "to")?,
            None => today,
        };
        let from = match from {
            Some(text) => date(text, "from")?,
            None => to.checked_sub(Duration::days(DEFAULT_DAYS - 1)).unwrap_or(EARLIEST).max(EARLIEST),
        };
        if from < EARLIEST || to > LATEST {
            return Err(Problem::bad_request("dates must be between 0001-01-01 and 9999-12-30"));
        }
        if from > to {
            return Err(Problem::bad_request("`from` must not be after `to`"));
        }
        Ok(Self { from, to })
    }

    /// `[start, end)` as RFC 3339 instants.
    fn instants(&self) -> Result<(String, String), Problem> {
        let end = self.to.next_day().ok_or_else(|| Problem::bad_request("`to` is out of range"))?;
        Ok((midnight(self.from), midnight(end)))
    }
}

fn midnight(date: Date) -> String {
    format!("{}T00:00:00Z", text(date))
}

fn text(date: Date) -> String {
    date.format(DATE).unwrap_or_default()
}

fn date(value: &str, field: &str) -> Result<Date, Problem> {
    Date::parse(value, DATE).map_err(|_| Problem::bad_request(format!("`{field}` must be a date, YYYY-MM-DD")))
}

fn currency(value: Option<String>) -> Result<String, Problem> {
    let currency = value.unwrap_or_else(|| "EUR".to_owned());
    if currency.len() == 3 && currency.bytes().all(|byte| byte.is_ascii_uppercase()) {
        Ok(currency)
    } else {
        Err(Problem::bad_request("`currency` must be an ISO 4217 code such as EUR"))
    }
}

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// Every bucket of `starts`, with the database's totals where there are any and zeros elsewhere.
pub fn fill(starts: &[Date], totals: Vec<store::BucketTotals>) -> Vec<Bucket> {
    let mut totals = totals.into_iter().peekable();
    starts
        .iter()
        .map(|start| {
            let start = text(*start);
            // Both are sorted by start; the database never has a bucket outside the range.
            while totals.peek().is_some_and(|found| found.start < start) {
                totals.next();
            }
            match totals.next_if(|found| found.start == start) {
                Some(found) => {
                    Bucket { start, orders: found.orders, units: found.units, revenue_cents: found.revenue_cents }
                }
                None => Bucket { start, orders: 0, units: 0, revenue_cents: 0 },
            }
        })
        .collect()
}

/// `GET /analytics/sales`.
pub async fn sales(db: &Db, request: &Request) -> Result<Response, Error> {
    Identity::require_admin(request.headers())?;
    let query: SalesQuery = parse_query(request)?;
    let period = query.period.unwrap_or(Period::Day);
    let range = Range::parse(query.from.as_deref(), query.to.as_deref(), today())?;
    let currency = currency(query.currency)?;
    let starts = period.buckets(range.from, range.to).ok_or_else(|| {
        Problem::bad_request(format!("the range has more than {MAX_BUCKETS} buckets; use a longer period"))
    })?;
    let (start, end) = range.instants()?;
    let totals = store::sales(db, period.as_str(), &currency, &start, &end).await?;
    let report = SalesReport {
        period,
        from: text(range.from),
        to: text(range.to),
        time_zone: "UTC",
        currency,
        buckets: fill(&starts, totals),
    };
    Ok(json(StatusCode::OK, &report))
}

/// `GET /analytics/top-products`.
pub async fn top_products(db: &Db, request: &Request) -> Result<Response, Error> {
    Identity::require_admin(request.headers())?;
    let query: TopQuery = parse_query(request)?;
    let range = Range::parse(query.from.as_deref(), query.to.as_deref(), today())?;
    let limit = kit::page::Limit::parse_within(query.limit, 10, MAX_LIMIT).map_err(Problem::bad_query)?;
    let by = query.by.unwrap_or(Measure::Quantity);
    let currency = currency(query.currency)?;
    let (start, end) = range.instants()?;
    let products =
        store::top_products(db, &currency, &start, &end, by == Measure::Revenue, i64::from(limit.get())).await?;
    let report = TopProductsReport { from: text(range.from), to: text(range.to), by, currency, products };
    Ok(json(StatusCode::OK, &report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn weeks_start_on_monday_and_cross_years_iso_style() {
        // 2026-01-01 is a Thursday: its ISO week starts on Monday 2025-12-29.
        assert_eq!(Period::Week.bucket_start(date!(2026 - 01 - 01)), date!(2025 - 12 - 29));
        assert_eq!(Period::Week.bucket_start(date!(2026 - 11 - 29)), date!(2026 - 11 - 23)); // a Sunday
        assert_eq!(Period::Week.bucket_start(date!(2026 - 11 - 30)), date!(2026 - 11 - 30));
        // a Monday
    }

    #[test]
    fn buckets_cover_the_range_including_clipped_ends() {
        let months = Period::Month.buckets(date!(2025 - 11 - 15), date!(2026 - 02 - 01)).unwrap();
        assert_eq!(
            months,
            vec![date!(2025 - 11 - 01), date!(2025 - 12 - 01), date!(2026 - 01 - 01), date!(2026 - 02 - 01)]
        );
        let days = Period::Day.buckets(date!(2024 - 02 - 28), date!(2024 - 03 - 01)).unwrap();
        assert_eq!(days, vec![date!(2024 - 02 - 28), date!(2024 - 02 - 29), date!(2024 - 03 - 01)]);
        let weeks = Period::Week.buckets(date!(2026 - 11 - 29), date!(2026 - 11 - 30)).unwrap();
        assert_eq!(weeks, vec![date!(2026 - 11 - 23), date!(2026 - 11 - 30)]);
        assert!(Period::Day.buckets(date!(2020 - 01 - 01), date!(2026 - 01 - 01)).is_none(), "too many buckets");
        assert_eq!(Period::Month.buckets(date!(2020 - 01 - 01), date!(2026 - 01 - 01)).unwrap().len(), 73);
    }

    #[test]
    fn ranges_default_to_thirty_days_and_refuse_bad_dates() {
        let today = date!(2026 - 11 - 29);
        assert_eq!(Range::parse(None, None, today).unwrap(), Range { from: date!(2026 - 10 - 31), to: today });
        assert_eq!(Range::parse(Some("2026-02-30"), None, today).unwrap_err().status, 400);
        assert_eq!(Range::parse(Some("2026-11-02"), Some("2026-11-01"), today).unwrap_err().status, 400);
        assert_eq!(Range::parse(Some("yesterday"), None, today).unwrap_err().status, 400);
        // The default 30 days stop at year 1; year 0 and the last day of year 9999 are refused.
        assert_eq!(Range::parse(None, Some("0001-01-01"), today).unwrap(), Range { from: EARLIEST, to: EARLIEST });
        assert_eq!(Range::parse(Some("0000-12-31"), Some("0001-01-01"), today).unwrap_err().status, 400);
        assert_eq!(Range::parse(None, Some("9999-12-31"), today).unwrap_err().status, 400);
        assert!(Range::parse(None, Some("9999-12-30"), today).unwrap().instants().is_ok());
        assert_eq!(EARLIEST.weekday(), time::Weekday::Monday, "a week bucket never starts before EARLIEST");
        assert_eq!(
            Period::Month.buckets(date!(9999 - 11 - 15), LATEST).unwrap(),
            [date!(9999 - 11 - 01), date!(9999 - 12 - 01)]
        );
        assert_eq!(Period::Week.buckets(LATEST, LATEST).unwrap().len(), 1);
        let range = Range::parse(Some("2026-11-01"), Some("2026-11-01"), today).unwrap();
        assert_eq!(range.instants().unwrap(), ("2026-11-01T00:00:00Z".to_owned(), "2026-11-02T00:00:00Z".to_owned()));
    }

    #[test]
    fn empty_buckets_are_filled_with_zeros() {
        let starts = Period::Day.buckets(date!(2026 - 11 - 01), date!(2026 - 11 - 03)).unwrap();
        let totals = vec![store::BucketTotals { start: "2026-11-02".into(), orders: 1, units: 3, revenue_cents: 900 }];
        let buckets = fill(&starts, totals);
        assert_eq!(buckets.len(), 3);
        assert_eq!((buckets[0].orders, buckets[1].units, buckets[2].revenue_cents), (0, 3, 0));
    }
}
