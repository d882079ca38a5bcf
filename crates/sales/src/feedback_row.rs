//! A feedback row as the feedback estimator reads it, borrowed from wherever
//! it is kept: an [`Obs`] of a [`Feedback`] record, or a row a case decodes
//! in place from the store's feedback chunks (millions per import: building
//! each as owned strings, only to read them once, was a large share of it).

use std::borrow::Cow;

use model::{Feedback, Sha256};

use crate::Obs;

/// The fields of one feedback row, borrowed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FeedbackFields<'a> {
    /// Market.
    pub market: &'a str,
    /// Vendor as shown.
    pub vendor: Option<&'a str>,
    /// Listing title as shown.
    pub listing: Option<&'a str>,
    /// Date as shown ("3 days ago", "2014-05-01").
    pub date: Option<&'a str>,
    /// Rating as shown.
    pub rating: Option<&'a str>,
    /// Text.
    pub text: Option<&'a str>,
    /// Buyer as shown.
    pub buyer: Option<&'a str>,
    /// Price the feedback itself shows: amount and currency.
    pub price: Option<(&'a str, &'a str)>,
    /// When the row was observed, when the source says.
    pub observed_at: Option<&'a str>,
    /// Capture time of its evidence record.
    pub captured_at: Option<&'a str>,
    /// Evidence digest, profile and rule of the row.
    pub provenance: Option<(Sha256, &'a str, &'a str)>,
}

/// A feedback row the estimator can read.
pub trait FeedbackRow {
    /// Its fields.
    fn fields(&self) -> FeedbackFields<'_>;
    /// Its row id: problems and a unit's sources name it, so it is only built
    /// for those.
    fn id(&self) -> Cow<'_, str>;
}

impl FeedbackRow for Obs<Feedback> {
    fn fields(&self) -> FeedbackFields<'_> {
        let f = &self.record;
        FeedbackFields {
            market: &f.market,
            vendor: f.vendor.as_deref(),
            listing: f.listing.as_deref(),
            date: f.date.as_deref(),
            rating: f.rating.as_deref(),
            text: f.text.as_deref(),
            buyer: f.buyer.as_deref(),
            price: f.price.as_ref().map(|m| (m.amount.as_str(), m.currency.as_str())),
            observed_at: f.observed_at.as_deref(),
            captured_at: self.captured_at.as_deref(),
            provenance: f.provenance.as_ref().map(|p| (p.evidence, p.profile.as_str(), p.rule.as_str())),
        }
    }

    fn id(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.id)
    }
}

impl<T: FeedbackRow + ?Sized> FeedbackRow for &T {
    fn fields(&self) -> FeedbackFields<'_> {
        (**self).fields()
    }

    fn id(&self) -> Cow<'_, str> {
        (**self).id()
    }
}
