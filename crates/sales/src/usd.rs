//! Prices in USD, each with the rate that made it.

use chrono::NaiveDate;
use model::Listing;
use serde::Serialize;

use crate::rates::Rates;

/// Prices above this many USD are treated as placeholders ("do not buy"
/// listings, typos) and kept out of revenue.
pub const ABSURD_USD: f64 = 1_000_000.0;

/// Prices under this many USD are taken for stand-ins, not sale prices: a
/// listing of several options shows "USD 0.01 (0.000001 BTC)" (Empire), and
/// AlphaBay rows show cents for listings sold thousands of times. Their sales
/// are counted without revenue (as a zero price is): at face value, 1,459
/// sales of one Empire vendor made $14.59. Half a dollar: no drug or
/// shipping on these markets sells for less, and single items do sell for
/// under a dollar's worth of BTC.
pub const PLACEHOLDER_USD: f64 = 0.5;

/// Which rate turned an amount into USD.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RateUsed {
    /// The amount was in USD.
    Usd,
    /// The market showed the USD price itself (beside BTC): its own rate.
    Market {
        /// USD per BTC implied by the two prices the market showed, when it showed both.
        usd_per_btc: Option<f64>,
    },
    /// A daily series the user supplied.
    Series {
        /// Currency converted.
        currency: String,
        /// Day whose rate was used.
        date: NaiveDate,
        /// USD per unit on that day.
        usd_per_unit: f64,
        /// The series' file and digest.
        source: String,
    },
}

impl RateUsed {
    /// A short label for tables: `usd`, `market`, `series:BTC@2014-02-02`.
    pub fn label(&self) -> String {
        match self {
            RateUsed::Usd => "usd".into(),
            RateUsed::Market { .. } => "market".into(),
            RateUsed::Series { currency, date, .. } => format!("series:{currency}@{date}"),
        }
    }
}

/// An amount converted to USD, keeping the original.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsdAmount {
    /// USD value.
    pub usd: f64,
    /// The amount as shown.
    pub amount: String,
    /// Its currency as shown.
    pub currency: String,
    /// How it was converted.
    pub rate: RateUsed,
}

/// Why an amount has no USD value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConvertError {
    /// No price on the record.
    #[error("no price")]
    NoPrice,
    /// The amount does not parse as a number.
    #[error("price {0:?} is not a number")]
    BadAmount(String),
    /// Negative, zero-free nonsense or over [`ABSURD_USD`].
    #[error("price {amount} {currency} (= {usd:.2} USD) is negative or absurd")]
    Absurd {
        /// As shown.
        amount: String,
        /// As shown.
        currency: String,
        /// Converted.
        usd: f64,
    },
    /// A price of zero: a free listing or, more often, a price the market
    /// or dataset did not fill in (AlphaBay 2017 has 2,625 listings at 0 USD,
    /// one "sold" 15,096 times). Counted as a sale without a price, not as a
    /// sale at $0: a zero would read as a measured revenue and pull median
    /// prices down.
    #[error("price {amount} {currency} is zero: counted as unpriced (a free listing, or a price not filled in)")]
    Zero {
        /// As shown.
        amount: String,
        /// As shown.
        currency: String,
    },
    /// Under [`PLACEHOLDER_USD`]: a stand-in price, not a sale price.
    #[error("price {amount} {currency} (= {usd:.2} USD) is under {PLACEHOLDER_USD:.2} USD: taken for a stand-in (a listing of several options, or a price not filled in), counted as unpriced")]
    Placeholder {
        /// As shown.
        amount: String,
        /// As shown.
        currency: String,
        /// Converted.
        usd: f64,
    },
    /// A holding price (see [`crate::holding`]): no price anything sold at.
    #[error("price {amount} {currency} (= {usd:.2} USD on the sale's day) of listing row {row} looks like a holding price ({why}), not a sale price: counted as unpriced")]
    Holding {
        /// As shown.
        amount: String,
        /// As shown.
        currency: String,
        /// Converted.
        usd: f64,
        /// The listing observation that shows it.
        row: String,
        /// Why it is taken for one.
        why: String,
    },
    /// No series for the currency.
    #[error("no rate series for {0} (pass --rates {0}=FILE)")]
    UnknownCurrency(String),
    /// The date is outside the series.
    #[error("no {currency} rate for {date} in {source_name} (series covers {first}..{last})")]
    OutsideSeries {
        /// Currency.
        currency: String,
        /// Date wanted.
        date: NaiveDate,
        /// Series file.
        source_name: String,
        /// First day of the series.
        first: NaiveDate,
        /// Last day of the series.
        last: NaiveDate,
    },
}

fn number(s: &str) -> Result<f64, ConvertError> {
    let t = s.trim();
    // Thousands separators are dropped (a copy only for text that has them:
    // this runs for every unit priced).
    let parsed = if t.contains(',') { t.replace(',', "").parse() } else { t.parse() };
    let v: f64 = parsed.map_err(|_| ConvertError::BadAmount(s.to_owned()))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(ConvertError::BadAmount(s.to_owned()))
    }
}

fn checked(out: UsdAmount) -> Result<UsdAmount, ConvertError> {
    if out.usd == 0.0 {
        return Err(ConvertError::Zero { amount: out.amount, currency: out.currency });
    }
    if out.usd < 0.0 || out.usd > ABSURD_USD {
        return Err(ConvertError::Absurd { amount: out.amount, currency: out.currency, usd: out.usd });
    }
    if out.usd < PLACEHOLDER_USD {
        return Err(ConvertError::Placeholder { amount: out.amount, currency: out.currency, usd: out.usd });
    }
    Ok(out)
}

/// Converts `amount` of `currency` on `date`.
pub fn to_usd(amount: &str, currency: &str, date: NaiveDate, rates: &Rates) -> Result<UsdAmount, ConvertError> {
    let value = number(amount)?;
    let currency = currency.to_ascii_uppercase();
    if currency == "USD" {
        return checked(UsdAmount { usd: value, amount: amount.to_owned(), currency, rate: RateUsed::Usd });
    }
    let series = rates.get(&currency).ok_or_else(|| ConvertError::UnknownCurrency(currency.clone()))?;
    let Some(rate) = series.on(date) else {
        let (first, last) = series.span();
        return Err(ConvertError::OutsideSeries { currency, date, source_name: series.source.clone(), first, last });
    };
    checked(UsdAmount {
        usd: value * rate,
        amount: amount.to_owned(),
        rate: RateUsed::Series { currency: currency.clone(), date, usd_per_unit: rate, source: series.source.clone() },
        currency,
    })
}

/// What [`listing_usd`] would make of a listing's price, as a number alone
/// (no text copied): `Some(Ok(usd))` for a price, `Some(Err(()))` for one
/// that is no sale price by its value (zero, under [`PLACEHOLDER_USD`],
/// absurd, not a number), `None` for none or one the rates cannot convert.
/// Run for every listing observation (holding prices), where building the
/// [`UsdAmount`] was three copies of text each.
pub(crate) fn listing_usd_value(l: &Listing, date: NaiveDate, rates: &Rates) -> Option<Result<f64, ()>> {
    // As `checked` judges: zero and under PLACEHOLDER_USD, or over ABSURD_USD.
    let judged = |v: f64| if (PLACEHOLDER_USD..=ABSURD_USD).contains(&v) { Ok(v) } else { Err(()) };
    if let Some(usd) = &l.price_usd {
        return Some(number(usd).map_err(|_| ()).and_then(judged));
    }
    let (amount, currency) = match (&l.price, &l.price_btc) {
        (Some(m), _) => (m.amount.as_str(), m.currency.as_str()),
        (None, Some(btc)) => (btc.as_str(), "BTC"),
        (None, None) => return None,
    };
    let Ok(value) = number(amount) else { return Some(Err(())) };
    if currency.eq_ignore_ascii_case("USD") {
        return Some(judged(value));
    }
    let series = if currency.bytes().any(|b| b.is_ascii_lowercase()) { rates.get(&currency.to_ascii_uppercase()) } else { rates.get(currency) };
    let rate = series?.on(date)?;
    Some(judged(value * rate))
}

/// A listing's price in USD on `date`. Where the market itself showed a USD
/// price (AlphaBay, Cryptonia, Dream show USD beside BTC) that price is used
/// and the market's implied rate recorded; otherwise the shown price is
/// converted with the series.
pub fn listing_usd(l: &Listing, date: NaiveDate, rates: &Rates) -> Result<UsdAmount, ConvertError> {
    let shown = l.price.as_ref();
    if let Some(usd_text) = &l.price_usd {
        let usd = number(usd_text)?;
        let shown_currency = shown.map(|m| m.currency.as_str()).unwrap_or("USD");
        let (amount, currency) = match shown {
            Some(m) => (m.amount.clone(), m.currency.clone()),
            None => (usd_text.clone(), "USD".to_owned()),
        };
        let rate = if shown_currency == "USD" && l.price_btc.is_none() {
            RateUsed::Usd
        } else {
            let usd_per_btc = l.price_btc.as_deref().and_then(|b| number(b).ok()).filter(|b| *b > 0.0).map(|b| usd / b);
            RateUsed::Market { usd_per_btc }
        };
        return checked(UsdAmount { usd, amount, currency, rate });
    }
    if let Some(m) = shown {
        return to_usd(&m.amount, &m.currency, date, rates);
    }
    if let Some(btc) = &l.price_btc {
        return to_usd(btc, "BTC", date, rates);
    }
    Err(ConvertError::NoPrice)
}
